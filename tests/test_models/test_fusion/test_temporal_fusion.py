# Copyright (c) mmfer4d contributors. All rights reserved.
import pytest
import torch

from mmfer4d.models.fusion import (AttentionTemporalFusion, MeanTemporalFusion,
                                   TransformerTemporalFusion)


@pytest.mark.parametrize('fusion', [
    MeanTemporalFusion(),
    AttentionTemporalFusion(embed_dims=8),
    TransformerTemporalFusion(embed_dims=8, num_heads=2, max_frames=6)
])
def test_shapes_and_gradients(fusion):
    torch.manual_seed(0)
    x = torch.randn(3, 5, 8, requires_grad=True)
    out = fusion(x)
    assert out.shape == (3, 8)
    out.sum().backward()
    assert x.grad is not None
    for name, p in fusion.named_parameters():
        assert p.grad is not None, name


def test_mean_and_attention_weights():
    x = torch.randn(2, 4, 8)
    assert torch.allclose(MeanTemporalFusion()(x), x.mean(1))
    att = AttentionTemporalFusion(embed_dims=8)
    att(x)
    assert torch.allclose(att.last_weights.sum(1), torch.ones(2))


def test_transformer_errors():
    with pytest.raises(ValueError, match='divide'):
        TransformerTemporalFusion(embed_dims=10, num_heads=4)
    fusion = TransformerTemporalFusion(embed_dims=8, num_heads=2, max_frames=3)
    with pytest.raises(ValueError, match='max_frames'):
        fusion(torch.randn(1, 4, 8))
    with pytest.raises(ValueError, match=r'\(N, T, D\)'):
        MeanTemporalFusion()(torch.randn(2, 3))


def test_difference_fusion_values():
    from mmfer4d.models.fusion import DifferenceTemporalFusion
    x = torch.tensor([[[1., 0.], [5., 2.], [3., 4.]]])  # (N=1, T=3, D=2)
    both = DifferenceTemporalFusion()(x)
    # apex (5, 2) minus the mean of onset (1, 0) and offset (3, 4).
    assert torch.allclose(both, torch.tensor([[3., 0.]]))
    onset = DifferenceTemporalFusion(reference='onset')(x)
    # mean of frames 1.. = (4, 3), minus onset (1, 0).
    assert torch.allclose(onset, torch.tensor([[3., 3.]]))


def test_difference_fusion_cancels_a_per_subject_offset():
    """What every frame of a sequence shares (the subject's face) drops out:
    adding any per-sample constant to all frames changes nothing."""
    from mmfer4d.models.fusion import DifferenceTemporalFusion
    torch.manual_seed(0)
    x = torch.randn(4, 5, 8)
    identity = torch.randn(4, 1, 8) * 10
    fusion = DifferenceTemporalFusion()
    assert torch.allclose(fusion(x + identity), fusion(x), atol=1e-5)
    assert not torch.allclose(MeanTemporalFusion()(x + identity),
                              MeanTemporalFusion()(x))


def test_difference_fusion_errors():
    from mmfer4d.models.fusion import DifferenceTemporalFusion
    with pytest.raises(ValueError, match='reference'):
        DifferenceTemporalFusion(reference='apex')
    with pytest.raises(ValueError, match='T >= 3'):
        DifferenceTemporalFusion()(torch.randn(2, 2, 4))
    with pytest.raises(ValueError, match='T >= 2'):
        DifferenceTemporalFusion(reference='onset')(torch.randn(2, 1, 4))
    with pytest.raises(ValueError, match=r'\(N, T, D\)'):
        DifferenceTemporalFusion()(torch.randn(2, 4))
