# Copyright (c) mmfer4d contributors. All rights reserved.
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample

from mmfer4d.models.losses import VisionLanguageContrastiveLoss
from mmfer4d.registry import MODELS


def build(**kwargs):
    init_default_scope('mmfer4d')
    return MODELS.build(dict(type='SMILEVLMHead', **kwargs))


def inputs(n=6, v=3, d=8, p=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    fused = torch.randn(n, d, generator=g, requires_grad=True)
    per_view = torch.randn(n, v, d, generator=g, requires_grad=True)
    prompts = torch.randn(p, d, generator=g, requires_grad=True)
    return fused, per_view, prompts


def test_losses_match_their_modules():
    head = build(vl_fused_weight=0.5, vl_view_weight=2.0)
    fused, per_view, prompts = inputs()
    labels = torch.tensor([0, -1, 1, 2, -1, 0])
    prompt_idx = torch.tensor([4, 0, 1, 3])  # one per labelled sample
    losses = head.loss(fused, per_view, prompts, labels, prompt_idx)
    assert list(losses) == ['loss_mv', 'loss_vl', 'loss_cmr']
    keep = torch.tensor([0, 2, 3, 5])
    text, kept = prompts[prompt_idx], labels[keep]
    assert torch.equal(losses['loss_mv'], head.loss_mv(per_view))
    expected_vl = 0.5 * head.loss_vl(fused[keep], text, kept) + \
        2.0 * head.loss_vl(per_view[keep], text, kept)
    assert torch.allclose(losses['loss_vl'], expected_vl)
    assert torch.allclose(losses['loss_cmr'],
                          head.loss_cmr(fused[keep], text))
    sum(losses.values()).backward()
    assert all(t.grad is not None for t in (fused, per_view, prompts))
    assert head.loss_vl.logit_scale.grad is not None
    # Without per-view term, loss_vl is the fused term alone.
    head.vl_view_weight = 0.0
    losses = head.loss(fused, per_view, prompts, labels, prompt_idx)
    assert torch.allclose(losses['loss_vl'],
                          0.5 * head.loss_vl(fused[keep], text, kept))


def test_too_few_pairs_give_zero_losses_with_gradients():
    head = build()
    fused, per_view, prompts = inputs()
    labels = torch.tensor([-1, -1, 3, -1, -1, -1])
    assert not head.enough_pairs(labels)
    assert head.enough_pairs(torch.tensor([-1, 0, 0]))
    losses = head.loss(fused, per_view, prompts, labels, None)
    assert losses['loss_vl'].item() == 0.0 == losses['loss_cmr'].item()
    sum(losses.values()).backward()
    # Zero, but present: DDP sees every parameter used on every rank.
    assert torch.equal(prompts.grad, torch.zeros_like(prompts))
    assert head.loss_vl.logit_scale.grad == 0


def test_without_text_losses():
    head = build(loss_vl=None, loss_cmr=None)
    assert not head.with_text and head.loss_vl is None
    fused, per_view, prompts = inputs()
    assert set(head.loss(fused, per_view)) == {'loss_mv'}
    with pytest.raises(ValueError, match='no text losses'):
        head.loss(fused, per_view, prompts, torch.zeros(6).long(), None)
    with pytest.raises(ValueError, match='both or neither'):
        build(loss_vl=None)
    # Zero-shot still works, at the default scale of 100.
    assert head.zero_shot_scale() == 100.0


def test_zero_shot_uses_the_contrastive_logits(monkeypatch):
    head = build(loss_vl=dict(
        type='VisionLanguageContrastiveLoss', init_temperature=0.1))
    assert head.zero_shot_scale() == pytest.approx(10.0)
    fused = torch.randn(4, 8)
    classes = F.normalize(torch.randn(3, 8), dim=-1)
    calls = []
    orig = VisionLanguageContrastiveLoss.get_logits

    def spy(visual, text, scale):
        calls.append(scale)
        return orig(visual, text, scale)

    monkeypatch.setattr(head.loss_vl, 'get_logits', spy)
    out = head.predict(fused, classes, [DataSample() for _ in range(4)])
    assert calls == [pytest.approx(10.0)]
    expected = (10.0 * F.normalize(fused, dim=-1) @ classes.T).softmax(-1)
    for ds, row in zip(out, expected):
        assert torch.allclose(ds.pred_score, row)
        assert ds.pred_label.item() == row.argmax().item()
    head.zero_shot_logit_scale = 1.0
    assert head.zero_shot_scale() == 1.0
