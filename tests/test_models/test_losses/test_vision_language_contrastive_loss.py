# Copyright (c) mmfer4d contributors. All rights reserved.
"""Tests of ``mmfer4d/models/losses/vision_language_contrastive_loss.py``.

DDP parity (2 gloo processes) is in
``tests/test_models/test_utils/test_distributed.py``.
"""
import math

import pytest
import torch

from mmfer4d.models.losses import (VisionLanguageContrastiveLoss,
                                   contrastive_targets)
from mmfer4d.registry import MODELS


def reference_loss(visual, text, scale, labels=None):
    """Symmetric InfoNCE with multi-positive targets, plain Python."""

    def unit(rows):
        return [[x / math.sqrt(sum(y * y for y in r)) for x in r]
                for r in rows]

    v, t = unit(visual.tolist()), unit(text.tolist())
    n = len(v)
    labels = list(range(n)) if labels is None else labels.tolist()
    logits = [[
        scale * sum(a * b for a, b in zip(v[i], t[j])) for j in range(n)
    ] for i in range(n)]

    def direction(lg):
        total = 0.
        for i in range(n):
            log_z = math.log(sum(math.exp(x) for x in lg[i]))
            positives = [j for j in range(n) if labels[j] == labels[i]]
            total -= sum(lg[i][j] - log_z for j in positives) / len(positives)
        return total / n

    transposed = [[logits[j][i] for j in range(n)] for i in range(n)]
    return 0.5 * (direction(logits) + direction(transposed))


def test_hand_computed_two_samples():
    # temperature 0.5 -> s = 2; v = e1, e2; t = e1, (1, 1)/sqrt(2)
    # logits = 2 * [[1, r], [0, r]] with r = 1/sqrt(2)
    visual = torch.tensor([[3., 0.], [0., 0.5]], dtype=torch.float64)
    text = torch.tensor([[2., 0.], [1., 1.]], dtype=torch.float64)
    s, r = 2., 1 / math.sqrt(2)
    i2t = (-math.log(math.exp(s) / (math.exp(s) + math.exp(s * r))) -
           math.log(math.exp(s * r) / (1 + math.exp(s * r)))) / 2
    # columns: (2, 0) -> target row 0; (2r, 2r) -> uniform, -log(1/2)
    t2i = (-math.log(math.exp(s) / (math.exp(s) + 1)) + math.log(2)) / 2
    loss_fn = VisionLanguageContrastiveLoss(init_temperature=0.5)
    loss = loss_fn(visual, text)
    assert loss.item() == pytest.approx((i2t + t2i) / 2, abs=1e-12)
    loss_fn = VisionLanguageContrastiveLoss(
        init_temperature=0.5, loss_weight=4.)
    assert loss_fn(visual, text).item() == pytest.approx(
        2 * (i2t + t2i), abs=1e-12)


def test_hand_computed_multi_positive():
    # s = 1, samples 0 and 1 share class 0 and the same prompt e1,
    # sample 2 is class 1 with prompt e2; visuals are e1, e2, e2
    # logits = [[1, 1, 0], [0, 0, 1], [0, 0, 1]]
    # target rows q = [[.5, .5, 0], [.5, .5, 0], [0, 0, 1]]
    visual = torch.tensor([[1., 0.], [0., 1.], [0., 1.]], dtype=torch.float64)
    text = torch.tensor([[1., 0.], [1., 0.], [0., 1.]], dtype=torch.float64)
    labels = torch.tensor([0, 0, 1])
    e = math.e
    row0 = -math.log(e / (2 * e + 1))  # both positives have logit 1
    row1 = -math.log(1 / (2 + e))  # positives have logit 0
    row2 = -math.log(e / (2 + e))
    i2t = (row0 + row1 + row2) / 3
    # logits^T = [[1, 0, 0], [1, 0, 0], [0, 1, 1]]
    col0 = -0.5 * (math.log(e / (e + 2)) + math.log(1 / (e + 2)))
    col1 = col0
    col2 = -math.log(e / (1 + 2 * e))  # only sample 2 has label 1
    t2i = (col0 + col1 + col2) / 3
    loss_fn = VisionLanguageContrastiveLoss(init_temperature=1.)
    loss = loss_fn(visual, text, labels)
    assert loss.item() == pytest.approx((i2t + t2i) / 2, abs=1e-12)
    assert loss.item() == pytest.approx(
        reference_loss(visual, text, 1., labels), abs=1e-12)


@pytest.mark.parametrize('labels', [None, [0, 1, 0, 2, 1, 0], [3] * 6])
def test_parity_with_reference(labels):
    torch.manual_seed(0)
    visual = torch.randn(6, 5, dtype=torch.float64)
    text = torch.randn(6, 5, dtype=torch.float64)
    labels = None if labels is None else torch.tensor(labels)
    # logit_scale is initialised in float32, hence rel=1e-7
    loss = VisionLanguageContrastiveLoss()(visual, text, labels)
    expected = reference_loss(visual, text, 1 / 0.07, labels)
    assert loss.item() == pytest.approx(expected, rel=1e-7)


def test_contrastive_targets():
    torch.testing.assert_close(contrastive_targets(None, 3), torch.eye(3))
    q = contrastive_targets(torch.tensor([2, 0, 2, 2]), 4)
    expected = torch.tensor([[1 / 3, 0, 1 / 3, 1 / 3], [0, 1, 0, 0],
                             [1 / 3, 0, 1 / 3, 1 / 3],
                             [1 / 3, 0, 1 / 3, 1 / 3]])
    torch.testing.assert_close(q, expected)


def test_distinct_labels_equal_diagonal_targets():
    torch.manual_seed(0)
    visual, text = torch.randn(2, 5, 4)
    loss_fn = VisionLanguageContrastiveLoss()
    plain = loss_fn(visual, text)
    torch.testing.assert_close(
        loss_fn(visual, text, torch.tensor([4, 0, 3, 1, 2])), plain)
    # shared labels do change the loss
    shared = loss_fn(visual, text, torch.tensor([0, 0, 1, 1, 2]))
    assert not torch.allclose(shared, plain, atol=1e-3)


def test_per_view_average_and_normalisation():
    torch.manual_seed(0)
    visual = torch.randn(4, 3, 6)
    text = torch.randn(4, 6)
    labels = torch.tensor([0, 1, 1, 2])
    loss_fn = VisionLanguageContrastiveLoss()
    per_view = [loss_fn(visual[:, v], text, labels) for v in range(3)]
    torch.testing.assert_close(
        loss_fn(visual, text, labels),
        sum(per_view) / 3)
    # features are L2-normalised inside
    torch.testing.assert_close(
        loss_fn(5 * visual, 0.1 * text, labels), loss_fn(visual, text, labels))


def test_aligned_embeddings_give_minimum():
    loss_fn = VisionLanguageContrastiveLoss(init_temperature=0.01)
    emb = torch.eye(4)
    aligned = loss_fn(emb, emb)
    assert aligned.item() < 1e-6
    assert loss_fn(emb, emb[[1, 0, 3, 2]]).item() > 10


def test_logit_scale_init_and_gradient():
    loss_fn = VisionLanguageContrastiveLoss()
    assert isinstance(loss_fn.logit_scale, torch.nn.Parameter)
    assert loss_fn.logit_scale.item() == pytest.approx(math.log(1 / 0.07))
    assert loss_fn.get_logit_scale().item() == pytest.approx(1 / 0.07)
    torch.manual_seed(0)
    visual = torch.randn(4, 8, requires_grad=True)
    loss_fn(visual, torch.randn(4, 8), torch.tensor([0, 1, 0, 1])).backward()
    grad = loss_fn.logit_scale.grad
    assert grad is not None and torch.isfinite(grad) and grad.abs() > 0
    assert visual.grad.abs().sum() > 0


def test_logit_scale_clamped_at_max():
    torch.manual_seed(0)
    visual, text = torch.randn(2, 4, 3)
    loss_fn = VisionLanguageContrastiveLoss()
    with torch.no_grad():
        loss_fn.logit_scale.fill_(math.log(1000.))
    assert loss_fn.get_logit_scale().item() == pytest.approx(100.)
    loss = loss_fn(visual, text)
    expected = reference_loss(visual.double(), text.double(), 100.)
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    loss.backward()
    assert loss_fn.logit_scale.grad.item() == 0


def test_not_learnable():
    loss_fn = VisionLanguageContrastiveLoss(
        init_temperature=0.1, learnable=False)
    assert len(list(loss_fn.parameters())) == 0
    assert 'logit_scale' in dict(loss_fn.named_buffers())
    assert loss_fn.get_logit_scale().item() == pytest.approx(10.)


def test_registry():
    loss_fn = MODELS.build(
        dict(type='VisionLanguageContrastiveLoss', init_temperature=0.05))
    assert isinstance(loss_fn, VisionLanguageContrastiveLoss)
    assert loss_fn.get_logit_scale().item() == pytest.approx(20.)


@pytest.mark.parametrize('kwargs', [
    dict(init_temperature=0.),
    dict(max_logit_scale=-1.),
    dict(init_temperature=0.001)
])
def test_bad_init(kwargs):
    with pytest.raises(ValueError, match='VisionLanguageContrastiveLoss'):
        VisionLanguageContrastiveLoss(**kwargs)


@pytest.mark.parametrize('visual,text,labels', [
    ((4, ), (4, 3), None),
    ((4, 2, 2, 3), (4, 3), None),
    ((4, 3), (4, 2, 3), None),
    ((4, 3), (5, 3), None),
    ((4, 3), (4, 2), None),
    ((4, 2, 3), (4, 2), None),
    ((4, 3), (4, 3), torch.zeros(3, dtype=torch.long)),
    ((4, 3), (4, 3), torch.zeros(4)),
])
def test_bad_inputs(visual, text, labels):
    with pytest.raises(ValueError, match='VisionLanguageContrastiveLoss'):
        VisionLanguageContrastiveLoss()(torch.zeros(visual), torch.zeros(text),
                                        labels)


def test_get_logits_and_ground_truth_compose_forward():
    """forward = cross-entropy of get_logits against get_ground_truth, both
    ways (open_clip ClipLoss's split)."""
    torch.manual_seed(0)
    loss = VisionLanguageContrastiveLoss()
    visual, text = torch.randn(5, 8), torch.randn(5, 8)
    labels = torch.tensor([0, 1, 0, 2, 1])
    v = torch.nn.functional.normalize(visual, dim=-1)
    t = torch.nn.functional.normalize(text, dim=-1)
    scale = loss.get_logit_scale()
    per_visual, per_text = loss.get_logits(v, t, scale)
    assert per_visual.shape == (5, 5) and torch.equal(per_text, per_visual.T)
    # Hand check of one entry: s * cos(v_1, t_3).
    assert torch.isclose(per_visual[1, 3], scale * (v[1] * t[3]).sum())
    q = loss.get_ground_truth(labels, 5)
    assert torch.equal(q, contrastive_targets(labels, 5))
    assert torch.equal(loss.get_ground_truth(None, 3), torch.eye(3))
    expected = 0.5 * (
        torch.nn.functional.cross_entropy(per_visual, q) +
        torch.nn.functional.cross_entropy(per_text, q))
    assert torch.allclose(loss(visual, text, labels), expected)
    # Zero-shot use: against K class prompts, with a float scale.
    logits, _ = VisionLanguageContrastiveLoss.get_logits(v, t[:3], 10.0)
    assert logits.shape == (5, 3)


def test_half_precision_and_autocast_computed_in_float32():
    # Matching logits of scale 100 need more than bfloat16's 8 mantissa
    # bits: the loss casts up and leaves autocast.
    torch.manual_seed(0)
    visual, text = torch.randn(8, 3, 32), torch.randn(8, 32)
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    loss_fn = VisionLanguageContrastiveLoss(init_temperature=0.01)
    expected = loss_fn(visual, text, labels)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        loss = loss_fn(visual, text, labels)
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, expected)
    # bfloat16 inputs: only their own rounding remains.
    loss = loss_fn(visual.bfloat16(), text.bfloat16(), labels)
    assert loss.dtype == torch.float32
    rounded = loss_fn(visual.bfloat16().float(), text.bfloat16().float(),
                      labels)
    torch.testing.assert_close(loss, rounded)
