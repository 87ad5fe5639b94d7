# Copyright (c) mmfer4d contributors. All rights reserved.
import json
import os.path as osp
import sys

import pytest
import torch
from mmpretrain.structures import DataSample

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                            'test_utils'))
from face68 import face  # noqa: E402
from tiny_multi_view import assert_all_grads, build_model  # noqa: E402

AUS = ('AU1', 'AU2', 'AU4', 'AU6', 'AU12', 'AU15', 'AU17', 'AU25')
CLASSES = ('anger', 'happiness', 'sadness', 'neutral')
#: AUs of each class in the toy batches.
CLASS_AUS = {0: ('AU4', ), 1: ('AU6', 'AU12'), 2: ('AU1', 'AU15', 'AU17'),
             3: ()}


def build(views=3, **overrides):
    cfg = dict(
        au_names=AUS,
        classes=CLASSES,
        backbone=dict(type='ResNet', depth=18, base_channels=8,
                      in_channels=4, out_indices=(2, 3)),
        region_neck=dict(type='AURegionNeck', index=0),
        text_encoder=dict(
            type='OpenCLIPTextEncoder',
            text_cfg_overrides=dict(layers=1, width=64, heads=2,
                                    context_length=48)))
    if views == 1:
        cfg['view_fusion'] = dict(type='MeanViewFusion')
    cfg.update(overrides)
    return build_model('MF2', **cfg)


def batch(n=6, views=3, size=64, missing=False):
    samples = []
    for i in range(n):
        label = i % 4
        gt = torch.tensor([float(a in CLASS_AUS[label]) for a in AUS])
        if missing:
            gt[0] = -1
        ds = DataSample(metainfo=dict(sample_idx=i,
                                      mesh_path=f'/d/s{i}.obj'))
        ds.set_gt_label(label)
        ds.set_field(gt, 'gt_au', field_type='data')
        ds.set_field(gt * 3.0, 'gt_au_intensity', field_type='data')
        lm = face(size / 100.0, (0.5 * i, 0.0))
        ds.set_field(lm[None].repeat(views, 1, 1), 'landmarks_2d',
                     field_type='data')
        vis = torch.ones(views, 68, dtype=torch.bool)
        ds.set_field(vis, 'landmarks_2d_visible', field_type='data')
        samples.append(ds)
    torch.manual_seed(1)
    return torch.randn(n, views, 4, size, size), samples


def test_loss_named_terms_and_gradients():
    model = build()
    inputs, samples = batch()
    losses = model(inputs, samples, mode='loss')
    assert set(losses) == {'loss_local', 'loss_global', 'loss_au',
                           'loss_emotion'}
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    # The tower is frozen; everything else that trains gets a gradient.
    assert_all_grads(model)
    assert model.text_encoder.proj.weight.grad is not None


def test_loss_weights_from_config_and_terms_switched_off():
    inputs, samples = batch()
    base = build()
    torch.manual_seed(0)
    losses = base(inputs, samples, mode='loss')
    heavy = build(head=dict(
        type='MF2Head',
        loss_au=dict(type='AUBinaryCrossEntropyLoss', loss_weight=3.0)))
    heavy.load_state_dict(base.state_dict())
    base.eval(), heavy.eval()  # no dropout: same features
    a = base.loss(inputs, samples)
    b = heavy.loss(inputs, samples)
    assert b['loss_au'].item() == pytest.approx(3 * a['loss_au'].item(),
                                                rel=1e-5)
    no_text = build(text_encoder=None)
    assert set(no_text(inputs, samples, mode='loss')) == {
        'loss_au', 'loss_emotion'}
    no_emotion = build(classes=None)
    assert set(no_emotion(inputs, samples, mode='loss')) == {
        'loss_au', 'loss_local'}
    assert losses


def test_predict_feeds_au_metric_and_accuracy():
    from mmfer4d.evaluation.metrics import AUDetectionMetric
    model = build().eval()
    inputs, samples = batch()
    with torch.no_grad():
        out = model(inputs, samples, mode='predict')
    assert out[0].pred_au_score.shape == (len(AUS), )
    assert torch.all((out[0].pred_au_score >= 0)
                     & (out[0].pred_au_score <= 1))
    assert out[0].pred_score.shape == (len(CLASSES), )
    assert out[0].embedding.shape == (model.embed_dims, )
    metric = AUDetectionMetric(au_names=AUS)
    metric.process(None, [ds.to_dict() for ds in out])
    res = metric.compute_metrics(metric.results)
    assert 'f1_AU12' in res and res['num_frames'] == 6


def test_unknown_au_labels_and_one_view_images():
    model = build(views=1)
    inputs, samples = batch(views=1, missing=True)
    losses = model(inputs, samples, mode='loss')
    assert torch.isfinite(losses['loss_au'])
    # The unknown AU1 labels contribute nothing: their logits get no
    # gradient from loss_au.
    model.zero_grad()
    logits = {}
    orig = model.head.logits

    def spy(*args):
        logits.update(orig(*args))
        logits['au'].retain_grad()
        return logits

    model.head.logits = spy
    model(inputs, samples, mode='loss')['loss_au'].backward()
    assert torch.all(logits['au'].grad[:, 0] == 0)
    assert torch.any(logits['au'].grad[:, 1] != 0)


def test_region_texts_change_with_the_aus(tmp_path):
    model = build()
    _, samples = batch()
    texts, states, emotions = model.sample_texts(samples)
    from mmfer4d.models.utils import REGION_NAMES
    r = [REGION_NAMES[i] for i in model.text_regions].index('mouth_corners')
    assert 'AU12 lip corner puller' in texts[1][r]
    assert 'at rest' in texts[0][r] or 'no action' in texts[0][r] or \
        'none' in texts[0][r]
    assert states[r][1] == 'AU12' and states[r][0] == ''
    assert 'happ' in emotions[1]
    # External descriptions replace the generated ones.
    path = tmp_path / 'mfa.jsonl'
    path.write_text('\n'.join(
        json.dumps(dict(path=f's{i}.obj', emotion_text=f'emotion {i}',
                        region_texts=dict(brows=f'brows {i}')))
        for i in range(6)))
    ext = build(external_descriptions=str(path))
    texts, _, emotions = ext.sample_texts(samples)
    assert emotions[2] == 'emotion 2'
    assert texts[3][0] == 'brows 3'
    short = tmp_path / 'short.jsonl'
    short.write_text(json.dumps(dict(path='s0.obj', emotion_text='e')))
    with pytest.raises(KeyError, match='no description'):
        build(external_descriptions=str(short)).sample_texts(samples)


def test_errors():
    model = build()
    inputs, samples = batch()
    for ds in samples:
        del ds.landmarks_2d
    with pytest.raises(ValueError, match='landmarks_2d'):
        model(inputs, samples, mode='loss')
    inputs, samples = batch()
    with pytest.raises(ValueError, match=r'\(N, V, C, H, W\)'):
        model(inputs[:, None], samples, mode='loss')
    with pytest.raises(ValueError, match='au_names'):
        build(au_names=())
    with pytest.raises(KeyError, match='AU99'):
        build(au_names=('AU1', 'AU99'))
