# Copyright (c) mmfer4d contributors. All rights reserved.
import pytest
import torch

from mmfer4d.models.fusion import (AttentionViewFusion,
                                   LearnableViewWeightFusion, MeanViewFusion)


@pytest.mark.parametrize('fusion', [
    MeanViewFusion(),
    LearnableViewWeightFusion(num_views=3),
    AttentionViewFusion(embed_dims=8)
])
def test_shapes_and_weights(fusion):
    torch.manual_seed(0)
    x = torch.randn(5, 3, 8)
    out = fusion(x)
    assert out.shape == (5, 8)
    w = fusion.get_view_weights()
    assert w.shape == (3, )
    assert torch.allclose(w.sum(), torch.tensor(1.0))
    assert (w >= 0).all()


def test_identical_views_give_that_view():
    x = torch.randn(2, 1, 8).expand(2, 4, 8)
    for fusion in (MeanViewFusion(), LearnableViewWeightFusion(4),
                   AttentionViewFusion(8)):
        assert torch.allclose(fusion(x), x[:, 0], atol=1e-6)


def test_learnable_weights_follow_logits():
    fusion = LearnableViewWeightFusion(num_views=2)
    with torch.no_grad():
        fusion.view_logits.copy_(torch.tensor([0.0, 100.0]))
    x = torch.randn(3, 2, 4)
    assert torch.allclose(fusion(x), x[:, 1], atol=1e-5)
    assert torch.allclose(fusion.get_view_weights(), torch.tensor([0., 1.]))


def test_attention_is_per_sample_and_trainable():
    torch.manual_seed(0)
    fusion = AttentionViewFusion(embed_dims=4)
    assert fusion.get_view_weights() is None
    fusion(torch.randn(6, 3, 4)).sum().backward()
    assert fusion.query.grad is not None
    assert fusion.key.weight.grad is not None
    assert fusion._last_weights.shape == (6, 3)


def test_errors():
    with pytest.raises(ValueError, match='views'):
        LearnableViewWeightFusion(num_views=3)(torch.randn(2, 4, 8))
    with pytest.raises(ValueError, match=r'\(N, V, D\)'):
        MeanViewFusion()(torch.randn(2, 8))
    with pytest.raises(ValueError):
        LearnableViewWeightFusion(num_views=0)
