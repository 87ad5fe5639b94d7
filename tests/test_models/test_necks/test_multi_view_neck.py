# Copyright (c) mmfer4d contributors. All rights reserved.
import pytest
import torch

from mmfer4d.models.necks import MultiViewNeck


def test_feature_maps_tokens_vectors():
    neck = MultiViewNeck()
    maps = torch.randn(6, 5, 3, 3)
    out = neck((torch.randn(6, 2, 7, 7), maps), num_views=3)
    assert out.shape == (2, 3, 5)
    assert torch.allclose(out[1, 2], maps[5].mean(dim=(1, 2)))
    tokens = torch.randn(6, 10, 5)
    assert torch.allclose(neck(tokens), tokens.mean(1))
    assert torch.allclose(
        MultiViewNeck(token_pool='first')(tokens), tokens[:, 0])
    vec = torch.randn(6, 5)
    assert torch.equal(neck((vec, ), num_views=2), vec.view(3, 2, 5))


def test_index_selects_stage():
    a, b = torch.randn(4, 3, 2, 2), torch.randn(4, 7, 1, 1)
    assert MultiViewNeck(index=0)((a, b)).shape == (4, 3)


def test_errors():
    neck = MultiViewNeck()
    with pytest.raises(ValueError, match='divisible'):
        neck(torch.randn(5, 4), num_views=2)
    with pytest.raises(ValueError, match='shape'):
        neck(torch.randn(5))
    with pytest.raises(ValueError, match='token_pool'):
        MultiViewNeck(token_pool='max')


def test_spatial_grid_keeps_layout():
    # Two maps with the same global mean but the feature in different
    # quadrants: global pooling cannot tell them apart, a 2 x 2 grid can.
    top = torch.zeros(1, 1, 4, 4)
    top[..., :2, :2] = 1.0
    bottom = torch.zeros(1, 1, 4, 4)
    bottom[..., 2:, 2:] = 1.0
    assert torch.equal(MultiViewNeck()(top), MultiViewNeck()(bottom))
    grid = MultiViewNeck(spatial_grid=2)
    assert torch.equal(grid(top), torch.tensor([[1.0, 0.0, 0.0, 0.0]]))
    assert torch.equal(grid(bottom), torch.tensor([[0.0, 0.0, 0.0, 1.0]]))
    maps = torch.randn(6, 8, 3, 3)
    assert grid(maps, num_views=3).shape == (2, 3, 8 * 4)
    with pytest.raises(ValueError, match='spatial_grid'):
        MultiViewNeck(spatial_grid=0)
