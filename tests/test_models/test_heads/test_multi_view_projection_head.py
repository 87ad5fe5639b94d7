# Copyright (c) mmfer4d contributors. All rights reserved.
import pytest
import torch

from mmfer4d.models.heads import MultiViewProjectionHead


@pytest.mark.parametrize('norm', ['BN', 'LN', None])
def test_shapes(norm):
    head = MultiViewProjectionHead(
        in_channels=6, out_channels=4, hid_channels=8, norm=norm)
    out = head(torch.randn(5, 3, 6))
    assert out.shape == (5, 3, 4)
    out.sum().backward()
    assert all(p.grad is not None for p in head.parameters())


def test_views_share_weights():
    head = MultiViewProjectionHead(
        in_channels=6, out_channels=4, num_layers=1).eval()
    x = torch.randn(2, 3, 6)
    x[:, 1] = x[:, 0]
    out = head(x)
    assert torch.allclose(out[:, 0], out[:, 1])


def test_errors():
    with pytest.raises(ValueError, match='in_channels'):
        MultiViewProjectionHead()
    with pytest.raises(ValueError, match='num_layers'):
        MultiViewProjectionHead(in_channels=4, num_layers=0)
    with pytest.raises(ValueError, match='norm'):
        MultiViewProjectionHead(in_channels=4, norm='GN')
