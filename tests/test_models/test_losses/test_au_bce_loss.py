# Copyright (c) mmfer4d contributors. All rights reserved.
import math

import pytest
import torch

from mmfer4d.models.losses import AUBinaryCrossEntropyLoss


def test_hand_value_and_unknown_left_out():
    loss = AUBinaryCrossEntropyLoss()
    logits = torch.tensor([[0.0, 2.0, 5.0]])
    labels = torch.tensor([[1.0, 0.0, -1.0]])
    # Known: log(2) for logit 0 / label 1, log(1 + e^2) for logit 2 / 0.
    expected = (math.log(2) + math.log(1 + math.exp(2))) / 2
    assert loss(logits, labels).item() == pytest.approx(expected, rel=1e-5)
    # Changing the unknown logit changes nothing.
    assert loss(torch.tensor([[0.0, 2.0, -9.0]]), labels).item() == \
        pytest.approx(expected, rel=1e-5)
    weighted = AUBinaryCrossEntropyLoss(pos_weight=[3., 1., 1.],
                                        loss_weight=2.0)
    assert weighted(logits, labels).item() == pytest.approx(
        2 * (3 * math.log(2) + math.log(1 + math.exp(2))) / 2, rel=1e-5)
    # All unknown: zero, still differentiable.
    x = torch.zeros(2, 3, requires_grad=True)
    out = loss(x, -torch.ones(2, 3))
    out.backward()
    assert out.item() == 0 and x.grad is not None


def test_minimum_at_confident_right_answers_and_errors():
    loss = AUBinaryCrossEntropyLoss()
    labels = torch.tensor([[1., 0.], [0., 1.]])
    good = loss((labels * 2 - 1) * 20, labels)
    bad = loss((1 - labels * 2) * 20, labels)
    assert good.item() < 1e-6 < bad.item()
    with pytest.raises(ValueError, match='differ'):
        loss(torch.zeros(2, 3), torch.zeros(2, 2))
    with pytest.raises(ValueError, match='pos_weight'):
        AUBinaryCrossEntropyLoss(pos_weight=[1.])(torch.zeros(1, 2),
                                                  torch.zeros(1, 2))
