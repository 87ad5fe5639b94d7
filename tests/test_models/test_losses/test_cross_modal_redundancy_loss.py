# Copyright (c) mmfer4d contributors. All rights reserved.
"""Tests of ``mmfer4d/models/losses/cross_modal_redundancy_loss.py``.

DDP parity (2 gloo processes) is in
``tests/test_models/test_utils/test_distributed.py``.
"""
import math

import pytest
import torch

from mmfer4d.models.losses import CrossModalRedundancyLoss
from mmfer4d.registry import MODELS


def reference_cross_modal(visual, text, lambd, eps):
    """Barlow Twins (Zbontar et al. 2021, eq. 1-2) between two modalities."""
    num_samples, num_feats = visual.shape

    def standardise(x):
        cols = []
        for i in range(num_feats):
            col = x[:, i].tolist()
            mean = sum(col) / num_samples
            var = sum((c - mean)**2 for c in col) / num_samples
            cols.append([(c - mean) / math.sqrt(var + eps) for c in col])
        return cols

    a, b = standardise(visual), standardise(text)
    loss = 0.
    for i in range(num_feats):
        for j in range(num_feats):
            c = sum(a[i][n] * b[j][n] for n in range(num_samples))
            c /= num_samples
            loss += (1 - c)**2 if i == j else lambd * c**2
    return loss


def test_hand_computed_two_samples():
    # visual dims standardise to (-1, 1), (1, -1); text to (-1, 1), (-1, 1)
    # C = [[1, 1], [-1, -1]] -> (1-1)^2 + (1+1)^2 + lambd (1 + 1)
    visual = torch.tensor([[1., 5.], [3., 1.]], dtype=torch.float64)
    text = torch.tensor([[0., 0.], [2., 4.]], dtype=torch.float64)
    loss = CrossModalRedundancyLoss(lambd=0.5, eps=0.)(visual, text)
    assert loss.item() == pytest.approx(5.0, abs=1e-12)
    loss = CrossModalRedundancyLoss(
        lambd=0.5, loss_weight=0.1, eps=0.)(visual, text)
    assert loss.item() == pytest.approx(0.5, abs=1e-12)


@pytest.mark.parametrize('shape', [(5, 3), (3, 5)])
def test_parity_with_reference(shape):
    torch.manual_seed(1)
    visual = torch.randn(*shape, dtype=torch.float64)
    text = torch.randn(*shape, dtype=torch.float64)
    for lambd, eps in ((5e-3, 1e-5), (0.3, 0.)):
        loss = CrossModalRedundancyLoss(lambd=lambd, eps=eps)(visual, text)
        expected = reference_cross_modal(visual, text, lambd, eps)
        assert loss.item() == pytest.approx(expected, rel=1e-10, abs=1e-10)


def test_symmetric_in_the_modalities():
    torch.manual_seed(2)
    visual, text = torch.randn(2, 6, 4, dtype=torch.float64)
    loss_fn = CrossModalRedundancyLoss(lambd=0.2)
    torch.testing.assert_close(loss_fn(visual, text), loss_fn(text, visual))


def test_aligned_inputs_give_minimum():
    whitened = torch.tensor([[1., 1.], [1., -1.], [-1., 1.], [-1., -1.]],
                            dtype=torch.float64)
    loss_fn = CrossModalRedundancyLoss(eps=0.)
    assert loss_fn(whitened, whitened).item() == pytest.approx(0, abs=1e-12)
    # an affine image of the same features is still perfectly aligned
    text = whitened * torch.tensor([3., 0.5]).double() + 7
    assert loss_fn(whitened, text).item() == pytest.approx(0, abs=1e-12)
    torch.manual_seed(0)
    assert loss_fn(whitened, torch.randn(4, 2).double()).item() > 1e-3


def test_invariant_to_per_feature_affine_rescaling():
    torch.manual_seed(3)
    visual, text = torch.randn(2, 7, 3, dtype=torch.float64)
    a_v, a_t = torch.rand(2, 1, 3, dtype=torch.float64) * 4 + 0.1
    b_v, b_t = torch.randn(2, 1, 3, dtype=torch.float64) * 3
    loss_fn = CrossModalRedundancyLoss(lambd=0.1, eps=0.)
    torch.testing.assert_close(
        loss_fn(a_v * visual + b_v, a_t * text + b_t), loss_fn(visual, text))


def test_single_class_batch_is_finite():
    # every sample has the same prompt: zero text variance -> C = 0 -> D
    visual = torch.randn(5, 3, requires_grad=True)
    text = torch.ones(5, 3)
    loss = CrossModalRedundancyLoss()(visual, text)
    loss.backward()
    assert loss.item() == pytest.approx(3.0, abs=1e-6)
    assert torch.isfinite(visual.grad).all()


def test_gradient_and_registry():
    loss_fn = MODELS.build(dict(type='CrossModalRedundancyLoss', lambd=0.02))
    assert isinstance(loss_fn, CrossModalRedundancyLoss)
    visual = torch.randn(4, 3, requires_grad=True)
    text = torch.randn(4, 3, requires_grad=True)
    loss_fn(visual, text).backward()
    assert visual.grad.abs().sum() > 0 and text.grad.abs().sum() > 0


@pytest.mark.parametrize('shapes', [((4, 3), (4, 2)), ((4, 3), (5, 3)),
                                    ((4, 2, 3), (4, 3)), ((4, ), (4, ))])
def test_bad_shapes(shapes):
    with pytest.raises(ValueError, match='CrossModalRedundancyLoss'):
        CrossModalRedundancyLoss()(torch.zeros(shapes[0]),
                                   torch.zeros(shapes[1]))
