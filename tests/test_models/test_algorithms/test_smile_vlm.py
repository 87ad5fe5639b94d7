# Copyright (c) mmfer4d contributors. All rights reserved.
import copy

import pytest
import torch
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample

from mmfer4d.registry import MODELS

CLASSES = ('anger', 'happiness', 'sadness', 'neutral')
TINY_TEXT = dict(
    type='OpenCLIPTextEncoder',
    text_cfg_overrides=dict(layers=1, width=64, heads=2, context_length=16))


def tiny_cfg(**overrides):
    cfg = dict(
        type='SMILEVLM',
        data_preprocessor=dict(
            type='MultiViewDataPreprocessor',
            mean=[127.5] * 4,
            std=[127.5] * 4),
        backbone=dict(
            type='ResNet',
            depth=18,
            base_channels=8,
            in_channels=4,
            out_indices=(3, )),
        projector=dict(
            type='MultiViewProjectionHead', out_channels=16, hid_channels=32),
        view_fusion=dict(type='LearnableViewWeightFusion', num_views=3),
        text_encoder=TINY_TEXT,
        classes=CLASSES)
    cfg.update(overrides)
    return copy.deepcopy(cfg)


def build(**overrides):
    init_default_scope('mmfer4d')
    torch.manual_seed(0)
    return MODELS.build(tiny_cfg(**overrides))


def samples(n=6, labels=None):
    labels = labels if labels is not None else [i % 4 for i in range(n)]
    return [
        DataSample(metainfo=dict(sample_idx=i, intensity=i % 5 -
                                 1)).set_gt_label(lab)
        for i, lab in enumerate(labels)
    ]


def assert_all_grads(model):
    missing = [
        n for n, p in model.named_parameters()
        if p.requires_grad and p.grad is None
    ]
    assert not missing, missing


@pytest.fixture(scope='module')
def model():
    return build()


def test_tensor_mode_shapes(model):
    fused, per_view = model(torch.randn(2, 3, 4, 32, 32), mode='tensor')
    assert fused.shape == (2, 16) and per_view.shape == (2, 3, 16)
    assert model.projector.in_channels == 64  # inferred: 8 * 8
    w = model.get_view_weights()
    assert w.shape == (3, ) and torch.isclose(w.sum(), torch.tensor(1.))
    with pytest.raises(ValueError, match='inputs'):
        model(torch.randn(2, 4, 32, 32))
    with pytest.raises(RuntimeError, match='Invalid mode'):
        model(torch.randn(2, 3, 4, 32, 32), mode='nope')


def test_loss_mode_label_text(model):
    model.train()
    model.zero_grad()
    losses = model(torch.randn(6, 3, 4, 32, 32), samples(), mode='loss')
    assert set(losses) == {'loss_mv', 'loss_vl', 'loss_cmr'}
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    assert_all_grads(model)
    # The locked text tower stays locked; its projection trains.
    assert model.text_encoder.proj.weight.grad is not None
    assert all(not p.requires_grad
               for p in model.text_encoder.tower.parameters())
    assert model.loss_vl.logit_scale.grad is not None


def test_loss_through_data_preprocessor(model):
    data = dict(
        inputs=[
            torch.randint(0, 255, (3, 4, 32, 32), dtype=torch.uint8)
            for _ in range(4)
        ],
        data_samples=samples(4))
    data = model.data_preprocessor(data, True)
    losses = model(**data, mode='loss')
    assert torch.isfinite(sum(losses.values()))


def test_per_view_weight_enters_loss_vl(model):
    x, ds = torch.randn(6, 3, 4, 32, 32), samples()
    values = []
    for weight in (0.0, 1.0):
        model.vl_view_weight = weight
        model._generator.manual_seed(0)
        torch.manual_seed(1)
        values.append(model(x, ds, mode='loss')['loss_vl'])
    model.vl_view_weight = 1.0
    assert not torch.isclose(values[0], values[1])


def test_text_source_none_only_multiview():
    m = build(text_source='none', view_fusion=dict(type='MeanViewFusion'))
    losses = m(torch.randn(4, 3, 4, 32, 32), samples(4), mode='loss')
    assert set(losses) == {'loss_mv'}
    losses['loss_mv'].backward()
    # The unused text side is locked; everything else trains.
    assert not any(p.requires_grad for p in m.text_encoder.parameters())
    assert_all_grads(m)


def test_pseudo_text_source_uses_buffer():
    m = build(text_source='pseudo')
    x = torch.randn(4, 3, 4, 32, 32)
    # No pseudo-labels yet: zero text losses that still touch everything.
    losses = m(x, samples(4), mode='loss')
    assert losses['loss_vl'].item() == 0.0
    sum(losses.values()).backward()
    assert_all_grads(m)
    m.set_pseudo_labels([0, 1, 2, 3], [3, 2, 1, 0])
    assert m.get_pseudo_labels([3, 0, 9]).tolist() == [0, 3, -1]
    m.zero_grad()
    losses = m(x, samples(4), mode='loss')
    assert losses['loss_vl'].item() > 0
    sum(losses.values()).backward()
    assert_all_grads(m)
    # The buffer survives a checkpoint round trip into a fresh model.
    fresh = build(text_source='pseudo')
    fresh.load_state_dict(m.state_dict())
    assert fresh.get_pseudo_labels([0, 3]).tolist() == [3, 0]
    with pytest.raises(ValueError, match='pseudo-labels'):
        m.set_pseudo_labels([0], [7])
    ds = [DataSample().set_gt_label(0) for _ in range(4)]
    with pytest.raises(ValueError, match='sample_idx'):
        m(x, ds, mode='loss')


def test_predict_zero_shot(model):
    model.eval()
    out = model(torch.randn(3, 3, 4, 32, 32), samples(3), mode='predict')
    assert len(out) == 3
    for ds in out:
        assert ds.pred_score.shape == (4, )
        assert torch.isclose(ds.pred_score.sum(), torch.tensor(1.))
        assert ds.pred_label.item() == ds.pred_score.argmax().item()
        assert ds.embedding.shape == (16, )
        assert ds.gt_label.item() in range(4)
    # Zero-shot scores follow the ensembled class prompts.
    fused, _ = model(torch.randn(2, 3, 4, 32, 32))
    class_emb = model.class_text_embeddings()
    assert class_emb.shape == (4, 16)
    assert torch.allclose(class_emb.norm(dim=-1), torch.ones(4))


def test_zero_shot_picks_the_closest_prompt(model):
    model.eval()
    class_emb = model.class_text_embeddings().detach()
    # Replace extract_feat with known embeddings = the class prompts.
    orig = model.extract_feat
    model.extract_feat = lambda x: (class_emb[[2, 0]], None)
    try:
        out = model.predict(torch.zeros(2, 3, 4, 32, 32))
    finally:
        model.extract_feat = orig
    assert [d.pred_label.item() for d in out] == [2, 0]


def test_head_mode_fine_tune_and_predict():
    head = dict(type='LinearClsHead', num_classes=4, in_channels=16)
    m = build(predict_mode='head', head=head, text_encoder=None)
    losses = m(torch.randn(4, 3, 4, 32, 32), samples(4), mode='loss')
    assert set(losses) == {'loss_cls'}
    losses['loss_cls'].backward()
    assert_all_grads(m)
    assert m.backbone.conv1.weight.grad is not None
    m.eval()
    out = m(torch.randn(2, 3, 4, 32, 32), mode='predict')
    assert out[0].pred_score.shape == (4, ) and out[0].embedding.shape == (
        16, )


def test_linear_probe_freezes_all_but_head():
    head = dict(type='LinearClsHead', num_classes=4, in_channels=16)
    m = build(predict_mode='head', head=head, freeze=True)
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
        temporal_fusion=dict(type='TransformerTemporalFusion', num_heads=2),
        temporal_fusion_order=order)
    x = torch.randn(4, 2, 3, 4, 32, 32)
    fused, per_view = m(x)
    assert fused.shape == (4, 16) and per_view.shape == (4, 3, 16)
    losses = m(x, samples(4), mode='loss')
    sum(losses.values()).backward()
    assert_all_grads(m)
    m.eval()
    out = m(x, mode='predict')
    assert out[0].pred_score.shape == (4, )


def test_4d_orders_differ():
    x = torch.randn(2, 3, 3, 4, 32, 32)
    cfg = dict(
        temporal_fusion=dict(type='AttentionTemporalFusion'),
        view_fusion=dict(type='AttentionViewFusion'))
    a = build(temporal_fusion_order='before', **cfg).eval()
    b = build(temporal_fusion_order='after', **cfg).eval()
    b.load_state_dict(a.state_dict())
    assert not torch.allclose(a(x)[0], b(x)[0])
    assert torch.allclose(a(x)[1], b(x)[1])


def test_config_errors():
    with pytest.raises(ValueError, match='text_source'):
        build(text_source='captions')
    with pytest.raises(ValueError, match='predict_mode'):
        build(predict_mode='knn')
    with pytest.raises(ValueError, match='head'):
        build(predict_mode='head')
    with pytest.raises(ValueError, match='classes'):
        build(classes=None)
    with pytest.raises(ValueError, match='temporal_fusion_order'):
        build(temporal_fusion_order='middle')
