# Copyright (c) mmfer4d contributors. All rights reserved.
import numpy as np
import pytest
import torch
from torch import nn

from mmfer4d.visualization import (find_view_weight_module,
                                   plot_view_weights, view_weight_table,
                                   view_weights_of)


class _Fusion(nn.Module):
    """Stand-in for a view fusion module with ``get_view_weights()``."""

    def __init__(self):
        super().__init__()
        self.logits = nn.Parameter(torch.tensor([0.0, 1.0, 2.0]))

    def get_view_weights(self):
        return self.logits.softmax(0).expand(2, 3)  # (heads, V)


class _Model(nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = nn.Linear(2, 2)
        self.fusion = _Fusion()


def test_finds_fusion_and_reads_weights(tmp_path):
    model = _Model()
    name, module = find_view_weight_module(model)
    assert name == 'fusion' and module is model.fusion
    weights = view_weights_of(model)
    expected = torch.tensor([0.0, 1.0, 2.0]).softmax(0).numpy()
    np.testing.assert_allclose(weights, expected, rtol=1e-6)
    table = view_weight_table(weights, ['left', 'front', 'right'])
    assert '| right | 0.6652 | 66.5 |' in table
    out = tmp_path / 'w.png'
    plot_view_weights(weights, out_file=str(out))
    assert out.read_bytes()[:4] == b'\x89PNG'


def test_errors():
    with pytest.raises(ValueError, match='get_view_weights'):
        find_view_weight_module(nn.Linear(2, 2))
    with pytest.raises(ValueError, match='2 view names for 3'):
        view_weight_table([1, 2, 3], ['a', 'b'])


def test_input_dependent_weights_need_a_forward():
    from mmfer4d.models.fusion.view_fusion import AttentionViewFusion
    model = _Model()
    model.fusion = AttentionViewFusion(embed_dims=4)
    with pytest.raises(ValueError, match='before a forward'):
        view_weights_of(model)
    model.fusion(torch.randn(2, 3, 4))
    weights = view_weights_of(model)
    assert weights.shape == (3, )
    assert weights.sum() == pytest.approx(1.0)
