# Copyright (c) mmfer4d contributors. All rights reserved.
"""Tests of ``mmfer4d/models/losses/multiview_barlow_twins_loss.py``.

DDP parity (2 gloo processes) is in
``tests/test_models/test_utils/test_distributed.py``.
"""
import math

import pytest
import torch

from mmfer4d.models.losses import (MultiViewBarlowTwinsLoss, batch_standardize)
from mmfer4d.registry import MODELS


def reference_barlow_twins(z, lambd, eps):
    """Zbontar et al. 2021, eq. 1-2, written as loops over the indices."""
    num_samples, num_views, num_feats = z.shape
    z = z.tolist()
    pair_losses = []
    for v in range(num_views):
        for w in range(v + 1, num_views):
            # batch-normalise every feature of both views (biased variance)
            std = {}
            for view in (v, w):
                for i in range(num_feats):
                    col = [z[n][view][i] for n in range(num_samples)]
                    mean = sum(col) / num_samples
                    var = sum((x - mean)**2 for x in col) / num_samples
                    std[view,
                        i] = [(x - mean) / math.sqrt(var + eps) for x in col]
            loss = 0.
            for i in range(num_feats):
                for j in range(num_feats):
                    c = sum(std[v, i][n] * std[w, j][n]
                            for n in range(num_samples)) / num_samples
                    loss += (1 - c)**2 if i == j else lambd * c**2
            pair_losses.append(loss)
    return sum(pair_losses) / len(pair_losses)


def whitened(num_samples=4):
    """Columns with zero mean, unit (biased) variance, orthogonal."""
    assert num_samples == 4
    return torch.tensor([[1., 1.], [1., -1.], [-1., 1.], [-1., -1.]],
                        dtype=torch.float64)


def test_hand_computed_two_samples():
    # With N=2 every standardised feature is (-1, +1) or (+1, -1):
    # view 0 = [[1, 5], [3, 1]] -> dim0 (-1, 1), dim1 (1, -1)
    # view 1 = [[0, 0], [2, 4]] -> dim0 (-1, 1), dim1 (-1, 1)
    # C = Z0^T Z1 / 2 = [[1, 1], [-1, -1]]
    # loss = (1 - 1)^2 + (1 + 1)^2 + lambd * (1^2 + (-1)^2) = 4 + 2 lambd
    z = torch.tensor([[[1., 5.], [0., 0.]], [[3., 1.], [2., 4.]]],
                     dtype=torch.float64)
    loss = MultiViewBarlowTwinsLoss(lambd=0.5, eps=0.)(z)
    assert loss.item() == pytest.approx(4 + 2 * 0.5, abs=1e-12)
    loss = MultiViewBarlowTwinsLoss(lambd=0.5, loss_weight=3., eps=0.)(z)
    assert loss.item() == pytest.approx(3 * 5.0, abs=1e-12)


def test_hand_computed_three_views_average_pairs():
    # views 0 and 1 as above (pair loss 4 + 2 lambd); view 2 equal to view 1:
    # pair (0, 2) is the same as (0, 1); pair (1, 2) correlates
    # (-1, 1), (-1, 1) with itself -> C = [[1, 1], [1, 1]] -> 0 + 2 lambd
    z = torch.tensor(
        [[[1., 5.], [0., 0.], [0., 0.]], [[3., 1.], [2., 4.], [2., 4.]]],
        dtype=torch.float64)
    lambd = 0.25
    expected = (2 * (4 + 2 * lambd) + 2 * lambd) / 3
    loss = MultiViewBarlowTwinsLoss(lambd=lambd, eps=0.)(z)
    assert loss.item() == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize('shape', [(5, 3, 4), (3, 2, 6), (2, 4, 3)])
def test_parity_with_reference(shape):
    # (5, 3, 4): N > D, direct path; (3, 2, 6): N <= D, Gram path
    torch.manual_seed(0)
    z = torch.randn(*shape, dtype=torch.float64)
    for lambd, eps in ((5e-3, 1e-5), (0.7, 0.)):
        loss = MultiViewBarlowTwinsLoss(lambd=lambd, eps=eps)(z)
        expected = reference_barlow_twins(z, lambd, eps)
        assert loss.item() == pytest.approx(expected, rel=1e-10, abs=1e-10)


def test_batch_standardize():
    torch.manual_seed(0)
    z = torch.randn(6, 2, 3, dtype=torch.float64) * 4 + 2
    out = batch_standardize(z, eps=0.)
    torch.testing.assert_close(out.mean(0), torch.zeros(2, 3).double())
    torch.testing.assert_close(
        out.var(0, unbiased=False),
        torch.ones(2, 3).double())


def test_aligned_whitened_views_give_minimum():
    z = whitened()[:, None].expand(4, 3, 2)
    assert MultiViewBarlowTwinsLoss(eps=0.)(z).item() == pytest.approx(
        0., abs=1e-12)
    # the default eps only shrinks C_ii to 1 / (1 + eps)
    assert MultiViewBarlowTwinsLoss()(z).item() < 1e-8
    # anything else is worse
    torch.manual_seed(0)
    for _ in range(3):
        other = z + 0.3 * torch.randn_like(z)
        assert MultiViewBarlowTwinsLoss(eps=0.)(other).item() > 1e-3


def test_invariant_to_per_feature_affine_rescaling():
    torch.manual_seed(0)
    z = torch.randn(6, 3, 4, dtype=torch.float64)
    scale = torch.rand(1, 3, 4, dtype=torch.float64) * 3 + 0.2
    shift = torch.randn(1, 3, 4, dtype=torch.float64) * 5
    loss_fn = MultiViewBarlowTwinsLoss(lambd=0.1, eps=0.)
    torch.testing.assert_close(loss_fn(scale * z + shift), loss_fn(z))
    # approximately with the default eps (variances are O(1) here)
    loss_fn = MultiViewBarlowTwinsLoss(lambd=0.1)
    torch.testing.assert_close(
        loss_fn(scale * z + shift), loss_fn(z), rtol=1e-4, atol=1e-4)
    # a negative scale flips correlations: not an invariance
    flipped = z.clone()
    flipped[:, 0, 0] *= -1
    assert not torch.allclose(loss_fn(flipped), loss_fn(z), atol=1e-3)


def test_gradient_and_registry():
    loss_fn = MODELS.build(
        dict(type='MultiViewBarlowTwinsLoss', lambd=0.01, loss_weight=2.))
    assert isinstance(loss_fn, MultiViewBarlowTwinsLoss)
    assert loss_fn.lambd == 0.01 and loss_fn.loss_weight == 2.
    torch.manual_seed(0)
    z = torch.randn(4, 2, 3, requires_grad=True)
    loss = loss_fn(z)
    loss.backward()
    assert loss.dim() == 0 and torch.isfinite(loss)
    assert torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0


@pytest.mark.parametrize('shape', [(4, 8), (4, 1, 8), (2, 2, 2, 2)])
def test_bad_shapes(shape):
    with pytest.raises(ValueError, match='MultiViewBarlowTwinsLoss'):
        MultiViewBarlowTwinsLoss()(torch.zeros(shape))


def test_half_precision_computed_in_float32():
    # D^2 squared correlations of ~1 overflow float16 if summed in it
    torch.manual_seed(0)
    z = torch.randn(4, 2, 300)
    expected = MultiViewBarlowTwinsLoss()(z)
    loss = MultiViewBarlowTwinsLoss()(z.half())
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    torch.testing.assert_close(loss, expected, rtol=1e-2, atol=0)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        loss = MultiViewBarlowTwinsLoss()(z)
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, expected)
