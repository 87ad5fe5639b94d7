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
