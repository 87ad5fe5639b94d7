# Copyright (c) mmfer4d contributors. All rights reserved.
import os.path as osp
import sys

import pytest
import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from tiny_multi_view import (HEAD, assert_all_grads, build_model,  # noqa
                             samples)


def build(**overrides):
    return build_model('MultiViewClassifier', **dict(dict(head=HEAD),
                                                     **overrides))


def test_fine_tune_loss_and_predict():
    m = build()
    assert m.num_classes == 4
    losses = m(torch.randn(4, 3, 4, 32, 32), samples(4), mode='loss')
    assert set(losses) == {'loss_cls'}
    assert torch.isfinite(losses['loss_cls'])
    losses['loss_cls'].backward()
    assert_all_grads(m)
    assert m.backbone.conv1.weight.grad is not None
    m.eval()
    out = m(torch.randn(2, 3, 4, 32, 32), mode='predict')
    assert out[0].pred_score.shape == (4, ) and out[0].embedding.shape == (
        16, )
    assert torch.isclose(out[0].pred_score.sum(), torch.tensor(1.))
    assert out[0].pred_label.item() == out[0].pred_score.argmax().item()


def test_linear_probe_freezes_all_but_head():
    m = build(freeze=True)
    trainable = {n for n, p in m.named_parameters() if p.requires_grad}
    assert trainable == {'head.fc.weight', 'head.fc.bias'}
    m.train()
    assert not m.backbone.training and m.head.training
    running = m.backbone.bn1.running_mean.clone()
    losses = m(torch.randn(4, 3, 4, 32, 32), samples(4), mode='loss')
    losses['loss_cls'].backward()
    assert_all_grads(m)
    assert torch.equal(running, m.backbone.bn1.running_mean)


@pytest.mark.parametrize('order', ['before', 'after'])
def test_4d_inputs(order):
    m = build(
        temporal_fusion=dict(type='AttentionTemporalFusion'),
        temporal_fusion_order=order)
    x = torch.randn(4, 2, 3, 4, 32, 32)
    losses = m(x, samples(4), mode='loss')
    losses['loss_cls'].backward()
    assert_all_grads(m)
    m.eval()
    assert m(x, mode='predict')[0].pred_score.shape == (4, )


def test_starts_from_a_smile_vlm_checkpoint(tmp_path):
    """The vision side of a SMILE-VLM checkpoint loads; its text side and
    objectives are the only unexpected keys, the head the only missing."""
    from mmengine.runner import load_checkpoint
    pre = build_model('SMILEVLM')
    path = str(tmp_path / 'pre.pth')
    torch.save(dict(state_dict=pre.state_dict()), path)
    probe = build(freeze=True)
    load_checkpoint(probe, path, map_location='cpu')
    assert torch.equal(probe.backbone.conv1.weight, pre.backbone.conv1.weight)
    assert torch.equal(probe.view_fusion.view_logits,
                       pre.view_fusion.view_logits)
    missing, unexpected = probe.load_state_dict(pre.state_dict(),
                                                strict=False)
    assert set(missing) == {'head.fc.weight', 'head.fc.bias'}
    assert all(k.startswith(('text_encoder.', 'head.loss_', '_extra_state'))
               for k in unexpected)
