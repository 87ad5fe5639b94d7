# Copyright (c) mmfer4d contributors. All rights reserved.
"""The Decoupled Fine-tuning Network: adapter, gate, taps, layer dropping,
side network, the DFN / full fine-tuning algorithms and the AU head."""
import copy
import glob
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample

from mmfer4d.models.dfn import (AdapterBlock, BackboneTaps, DFNAUHead,
                                GatedFusion, SideNetwork, select_layers,
                                tap_layer_names)
from mmfer4d.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
TINY_RESNET = dict(
    type='ResNet', depth=18, base_channels=8, in_channels=3,
    out_indices=(3, ))
TINY_VIT = dict(
    type='mmpretrain.VisionTransformer',
    arch=dict(embed_dims=32, num_layers=4, num_heads=2,
              feedforward_channels=64),
    img_size=32,
    patch_size=8)
HEAD = dict(type='LinearClsHead', num_classes=4)
MV_PRE = dict(
    type='MultiViewDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3)


def build(type='DecoupledFineTuner', backbone=TINY_RESNET, **kw):
    init_default_scope('mmfer4d')
    torch.manual_seed(0)
    cfg = dict(type=type, backbone=copy.deepcopy(backbone),
               head=copy.deepcopy(kw.pop('head', HEAD)),
               data_preprocessor=kw.pop('data_preprocessor', MV_PRE))
    cfg.update(kw)
    return MODELS.build(cfg)


def samples(n):
    return [DataSample().set_gt_label(i % 4) for i in range(n)]


def backbone_params(model):
    return list(model.backbone.named_parameters())


# ---------------------------------------------------------------------------
# Parts
# ---------------------------------------------------------------------------
@pytest.mark.parametrize('shape,dim', [((2, 16, 5, 5), 1), ((2, 7, 16), -1),
                                       ((2, 16), -1)])
def test_adapter_block_shapes_and_near_identity_start(shape, dim):
    torch.manual_seed(0)
    block = AdapterBlock(16, down_channels=64)
    x = torch.randn(shape)
    y = block(x)
    assert y.shape == x.shape
    # N(0, 1e-2) weights: the bottleneck branch is tiny at the start.
    assert (y - x).abs().max() < 0.05
    assert block.down.out_features == 64 and block.up.in_features == 64
    assert torch.all(block.down.bias == 0) and torch.all(block.up.bias == 0)
    assert 0.005 < block.down.weight.std() < 0.015
    # The branch acts on the channel axis, position by position.
    x2 = x.clone()
    x2.select(dim, 0).add_(1.0)
    assert not torch.allclose(block(x2), block(x) + (x2 - x))


def test_adapter_block_is_down_gelu_up_residual():
    torch.manual_seed(1)
    block = AdapterBlock(6, down_channels=3, init_std=0.5)
    x = torch.randn(4, 6)
    ref = x + block.up(F.gelu(block.down(x)))
    assert torch.allclose(block(x), ref)
    # Feature maps: the same projections at every position.
    maps = torch.randn(2, 6, 3, 4)
    ref = maps + block.up(F.gelu(block.down(maps.movedim(1, -1)))).movedim(
        -1, 1)
    assert torch.allclose(block(maps), ref, atol=1e-6)
    with pytest.raises(ValueError, match='width 6'):
        block(torch.randn(4, 5))


def test_adapter_depthwise_kernel_starts_as_identity_then_mixes():
    torch.manual_seed(2)
    plain = AdapterBlock(6, down_channels=3, init_std=0.5)
    spatial = AdapterBlock(6, down_channels=3, init_std=0.5, kernel_size=3)
    spatial.load_state_dict(plain.state_dict(), strict=False)
    x = torch.randn(1, 6, 5, 5)
    assert torch.allclose(spatial(x), plain(x), atol=1e-6)
    with torch.no_grad():
        spatial.spatial.weight.fill_(0.3)
    x2 = x.clone()
    x2[..., 0, 0] += 1.0
    # A change at (0, 0) now reaches (1, 1), not (3, 3).
    diff = (spatial(x2) - spatial(x)).abs().sum(1)[0]
    assert diff[1, 1] > 1e-4 and diff[3, 3] < 1e-7
    assert spatial(torch.randn(2, 4, 6)).shape == (2, 4, 6)  # tokens
    with pytest.raises(ValueError, match='odd'):
        AdapterBlock(6, kernel_size=2)


def test_gate_starts_at_half_and_follows_temperature():
    fusion = GatedFusion()
    assert torch.allclose(fusion.gate, torch.tensor([0.5]))
    h, s = torch.full((2, 3), 4.0), torch.zeros(2, 3)
    assert torch.allclose(fusion(h, s), torch.full((2, 3), 2.0))
    with torch.no_grad():
        fusion.gate_param.fill_(0.1)
    # sigmoid(0.1 / 0.1) = sigmoid(1).
    assert torch.allclose(fusion.gate, torch.sigmoid(torch.tensor([1.0])))
    with pytest.raises(ValueError):
        GatedFusion(temperature=0)


def test_layer_dropping_picks_every_other_layer_ending_at_the_last():
    assert select_layers(12) == (1, 3, 5, 7, 9, 11)
    assert select_layers(8) == (1, 3, 5, 7)
    assert select_layers(16) == tuple(range(1, 16, 2))
    assert select_layers(7) == (0, 2, 4, 6)
    assert select_layers(5, stride=1) == (0, 1, 2, 3, 4)
    assert select_layers(12, stride=3) == (2, 5, 8, 11)
    assert select_layers(12, indices=(0, 2, -1)) == (0, 2, 11)
    for bad in (dict(stride=0), dict(indices=()), dict(indices=(1, 1)),
                dict(indices=(12, ))):
        with pytest.raises(ValueError):
            select_layers(12, **bad)


def test_tap_layer_names_of_resnet_and_vit():
    init_default_scope('mmfer4d')
    resnet = MODELS.build(TINY_RESNET)
    assert tap_layer_names(resnet) == [
        f'layer{s}.{b}' for s in range(1, 5) for b in range(2)
    ]
    assert tap_layer_names(resnet, 'stage') == [
        'layer1', 'layer2', 'layer3', 'layer4'
    ]
    r50 = MODELS.build(dict(type='ResNet', depth=50, base_channels=8))
    assert len(tap_layer_names(r50)) == 16
    vit = MODELS.build(TINY_VIT)
    assert tap_layer_names(vit) == [f'layers.{i}' for i in range(4)]
    with pytest.raises(ValueError, match='layer_names'):
        tap_layer_names(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError):
        tap_layer_names(resnet, 'cell')


def test_taps_record_the_stage_outputs_only_while_recording():
    init_default_scope('mmfer4d')
    resnet = MODELS.build(dict(TINY_RESNET, out_indices=(0, 1, 2, 3)))
    resnet.eval()
    taps = BackboneTaps(resnet, ['layer1', 'layer2', 'layer3', 'layer4'])
    x = torch.randn(2, 3, 32, 32)
    with taps:
        outs = resnet(x)
    hidden = taps.pop()
    # The stage taps are exactly what out_indices=(0, 1, 2, 3) returns.
    assert all(torch.equal(h, o) for h, o in zip(hidden, outs))
    resnet(x)
    with pytest.raises(RuntimeError, match='did not run'):
        taps.pop()
    with pytest.raises(KeyError, match='layer9'):
        BackboneTaps(resnet, ['layer9'])


def test_side_network_chains_gates_and_adapters_as_written():
    torch.manual_seed(0)
    side = SideNetwork([8, 8, 16], down_channels=4, out_norm=False)
    hs = [torch.randn(2, 8, 8, 8), torch.randn(2, 8, 8, 8),
          torch.randn(2, 16, 4, 4)]
    # By hand: s0 = 0; f_k = g h_k + (1 - g) T(s_{k-1}); s_k = A_k(f_k).
    s = side.adapters[0](0.5 * hs[0])
    s = side.adapters[1](0.5 * hs[1] + 0.5 * s)
    t = F.pad(F.adaptive_avg_pool2d(s, 4), (0, 0, 0, 0, 0, 8))
    s = side.adapters[2](0.5 * hs[2] + 0.5 * t)
    assert torch.allclose(side(hs), s, atol=1e-6)
    assert len(side.projections) == 0  # growing widths: zero padding
    assert side.out_channels == 16
    with pytest.raises(ValueError, match='3 steps'):
        side(hs[:2])
    with pytest.raises(ValueError, match='channels'):
        side([hs[0], hs[0], hs[0]])


def test_bottleneck_is_never_wider_than_the_layer_unless_asked():
    side = SideNetwork([16, 32, 128], down_channels=64)
    assert [a.down.out_features for a in side.adapters] == [16, 32, 64]
    wide = SideNetwork([16, 32, 128], cap_down_channels=False)
    assert [a.down.out_features for a in wide.adapters] == [64, 64, 64]


def test_side_network_projects_when_asked_or_when_width_shrinks():
    side = SideNetwork([16, 8, 32], transition='linear')
    assert set(side.projections) == {'1', '2'}
    pad = SideNetwork([16, 8, 32])
    assert set(pad.projections) == {'1'}
    out = pad([torch.randn(2, 16, 8, 8), torch.randn(2, 8, 4, 4),
               torch.randn(2, 32, 2, 2)])
    assert out.shape == (2, 32, 2, 2)
    tokens = SideNetwork([12, 12])([torch.randn(2, 5, 12)] * 2)
    assert tokens.shape == (2, 5, 12)
    with pytest.raises(ValueError):
        SideNetwork([])
    with pytest.raises(ValueError):
        SideNetwork([4], transition='conv')


# ---------------------------------------------------------------------------
# The algorithms
# ---------------------------------------------------------------------------
def test_dfn_on_resnet_taps_shapes_and_trainable_parts():
    m = build()
    assert m.tap_names == ('layer1.1', 'layer2.1', 'layer3.1', 'layer4.1')
    assert m.side.channels == (8, 16, 32, 64)
    trainable = {n.split('.')[0] for n, p in m.named_parameters()
                 if p.requires_grad}
    assert trainable == {'side', 'head'}
    assert not any(p.requires_grad for _, p in backbone_params(m))
    n_train = sum(p.numel() for p in m.parameters() if p.requires_grad)
    n_backbone = sum(p.numel() for p in m.backbone.parameters())
    assert n_train < 0.1 * n_backbone
    x = torch.randn(2, 3, 3, 32, 32)
    assert m(x).shape == (2, 64)
    assert m(x[:, 0]).shape == (2, 64)  # one image per sample (2D faces)
    assert m(torch.randn(2, 2, 3, 3, 32, 32)).shape == (2, 64)
    with pytest.raises(ValueError, match='expects inputs'):
        m(torch.randn(3, 32, 32))


def test_gradients_never_reach_the_backbone_and_bn_stays_frozen():
    m = build(view_fusion=dict(type='LearnableViewWeightFusion',
                               num_views=3))
    m.train()
    assert not m.backbone.training and m.side.training
    running = m.backbone.bn1.running_mean.clone()
    hidden = m._hidden_states(torch.randn(2, 3, 32, 32))
    assert all(not h.requires_grad and h.grad_fn is None for h in hidden)
    losses = m(torch.randn(4, 3, 3, 32, 32), samples(4), mode='loss')
    assert set(losses) == {'loss_cls'}
    losses['loss_cls'].backward()
    assert all(p.grad is None for _, p in backbone_params(m))
    missing = [n for n, p in m.named_parameters()
               if p.requires_grad and p.grad is None]
    assert not missing
    assert m.view_fusion.view_logits.grad is not None
    assert torch.equal(running, m.backbone.bn1.running_mean)


def test_a_deep_copy_records_its_own_backbone():
    m = build()
    twin = copy.deepcopy(m)
    with torch.no_grad():
        twin.backbone.conv1.weight.mul_(2.0)
    x = torch.randn(2, 3, 3, 32, 32)
    assert not torch.allclose(twin(x), m(x))
    assert torch.allclose(copy.deepcopy(m)(x), m(x))


def test_dfn_on_vit_blocks():
    m = build(backbone=TINY_VIT,
              data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor'))
    assert m.tap_names == ('layers.1', 'layers.3')
    assert m.side.channels == (32, 32)
    x = torch.randn(3, 3, 32, 32)
    losses = m(x, samples(3), mode='loss')
    losses['loss_cls'].backward()
    assert all(p.grad is None for _, p in backbone_params(m))
    assert m.side.adapters[0].down.weight.grad is not None
    m.eval()
    out = m(x, mode='predict')
    assert out[0].pred_score.shape == (4, )
    assert out[0].embedding.shape == (32, )


@pytest.mark.parametrize('type', ['DecoupledFineTuner', 'FullFineTuner'])
def test_head_width_follows_the_neck(type):
    m = build(type, neck=dict(type='MultiViewNeck', spatial_grid=2))
    assert m.feat_channels == 64 * 4 and m.head.fc.in_features == 256
    assert m(torch.randn(2, 3, 3, 64, 64)).shape == (2, 256)


def test_layer_options_choose_the_tapped_layers():
    assert build(layer_stride=1).tap_names == tuple(
        f'layer{s}.{b}' for s in range(1, 5) for b in range(2))
    assert build(layer_granularity='stage').tap_names == ('layer2',
                                                          'layer4')
    assert build(layer_indices=(0, 2, 4, 6)).tap_names == (
        'layer1.0', 'layer2.0', 'layer3.0', 'layer4.0')
    m = build(layer_names=['layer3', 'layer4'], layer_stride=1,
              side=dict(down_channels=8))
    assert m.side.channels == (32, 64)
    assert m.side.adapters[0].down.out_features == 8


def test_a_few_training_steps_reduce_the_loss_on_a_toy_batch():
    m = build()
    m.train()
    torch.manual_seed(0)
    # A toy batch whose classes differ in their inputs (one random pattern
    # per class plus noise).
    patterns = torch.randn(4, 1, 3, 32, 32) * 2
    x = torch.randn(8, 3, 3, 32, 32) * 0.5 + patterns[[i % 4
                                                       for i in range(8)]]
    data = samples(8)
    opt = torch.optim.AdamW(
        [p for p in m.parameters() if p.requires_grad], lr=3e-3)
    before = {n: p.detach().clone() for n, p in backbone_params(m)}
    first = None
    for _ in range(20):
        loss = m(x, data, mode='loss')['loss_cls']
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.5 * first
    assert all(torch.equal(before[n], p) for n, p in backbone_params(m))


def test_full_fine_tuner_trains_everything_on_the_same_head():
    m = build('FullFineTuner')
    assert m.side is None and m.tap_names == ()
    assert all(p.requires_grad for p in m.parameters())
    m.train()
    assert m.backbone.training
    losses = m(torch.randn(4, 3, 3, 32, 32), samples(4), mode='loss')
    losses['loss_cls'].backward()
    assert m.backbone.conv1.weight.grad is not None
    assert m.head.fc.in_features == build().head.fc.in_features == 64


def test_starts_from_a_pretrained_multi_view_checkpoint(tmp_path):
    init_default_scope('mmfer4d')
    torch.manual_seed(3)
    pre = MODELS.build(
        dict(type='MultiViewClassifier', backbone=TINY_RESNET,
             head=dict(type='LinearClsHead', num_classes=6,
                       in_channels=128),
             data_preprocessor=MV_PRE))
    path = str(tmp_path / 'pre.pth')
    torch.save(dict(state_dict=pre.state_dict()), path)
    m = build(backbone=dict(TINY_RESNET, init_cfg=dict(
        type='Pretrained', checkpoint=path, prefix='backbone.')))
    m.init_weights()
    for (n, p), (_, q) in zip(backbone_params(m),
                              pre.backbone.named_parameters()):
        assert torch.equal(p, q), n
    # Still frozen after loading; the fresh side keeps its start.
    assert not any(p.requires_grad for _, p in backbone_params(m))
    assert torch.allclose(m.side.gates[0].gate, torch.tensor([0.5]))
    bad = build(backbone=dict(TINY_RESNET, init_cfg=dict(
        type='Pretrained', checkpoint=None, prefix='backbone.')))
    with pytest.raises(ValueError, match='checkpoint=None'):
        bad.init_weights()


def test_runs_on_a_frozen_smile_vlm_backbone(tmp_path):
    """A SMILE-VLM checkpoint (4-channel depth + normal renders) gives the
    DFN its backbone; the text side and objectives are not loaded."""
    import sys
    sys.path.insert(0, osp.join(ROOT, 'tests', 'test_models',
                                'test_algorithms'))
    from tiny_multi_view import VISION
    from tiny_multi_view import build_model as build_multi_view
    pre = build_multi_view('SMILEVLM')
    path = str(tmp_path / 'smile.pth')
    torch.save(dict(state_dict=pre.state_dict()), path)
    m = build(backbone=dict(VISION['backbone'], init_cfg=dict(
        type='Pretrained', checkpoint=path, prefix='backbone.')),
        data_preprocessor=VISION['data_preprocessor'])
    m.init_weights()
    assert torch.equal(m.backbone.conv1.weight, pre.backbone.conv1.weight)
    losses = m(torch.randn(2, 3, 4, 32, 32), samples(2), mode='loss')
    losses['loss_cls'].backward()
    assert all(p.grad is None for _, p in backbone_params(m))


def test_au_head_bce_by_hand_and_predictions():
    torch.manual_seed(0)
    head = DFNAUHead(num_aus=3, in_channels=5)
    feats = torch.randn(2, 5)
    gts = [torch.tensor([1., 0., 1.]), torch.tensor([0., 0., 1.])]
    data = [DataSample() for _ in gts]
    for ds, gt in zip(data, gts):
        ds.set_field(gt, 'gt_au', field_type='data')
    logits = head.fc(feats)
    p = torch.sigmoid(logits)
    y = torch.stack(gts)
    ref = -(y * p.log() + (1 - y) * (1 - p).log()).mean()
    assert torch.allclose(head.loss((feats, ), data)['loss_au'], ref)
    out = head.predict((feats, ), data)
    assert torch.allclose(out[1].pred_au_score, p[1])
    with pytest.raises(ValueError, match='no gt_au'):
        head.loss((feats, ), [DataSample(), DataSample()])
    wrong = [DataSample(), DataSample()]
    for ds in wrong:
        ds.set_field(torch.zeros(4), 'gt_au', field_type='data')
    with pytest.raises(ValueError, match='shape'):
        head.loss((feats, ), wrong)


def test_dfn_with_the_au_head_feeds_the_au_metric():
    from mmfer4d.evaluation import AUDetectionMetric
    m = build(head=dict(type='DFNAUHead', num_aus=5))
    data = []
    for i in range(4):
        ds = DataSample()
        ds.set_field(torch.tensor([1., 0., i % 2, 1., 0.]), 'gt_au',
                     field_type='data')
        data.append(ds)
    losses = m(torch.randn(4, 3, 3, 32, 32), data, mode='loss')
    assert set(losses) == {'loss_au'} and torch.isfinite(losses['loss_au'])
    m.eval()
    out = m(torch.randn(4, 3, 3, 32, 32), data, mode='predict')
    metric = AUDetectionMetric()
    metric.process([], [o.to_dict() for o in out])
    assert 'mean_f1' in metric.compute_metrics(metric.results)


# ---------------------------------------------------------------------------
# Configs
# ---------------------------------------------------------------------------
DFN_CONFIGS = sorted(
    glob.glob(osp.join(ROOT, 'configs', 'mf2', 'dfn*.py')) +
    glob.glob(osp.join(ROOT, 'configs', 'mf2', 'mf2-dfn*.py')))


def test_there_are_dfn_configs():
    assert len(DFN_CONFIGS) >= 2


@pytest.mark.parametrize('path', DFN_CONFIGS, ids=osp.basename)
def test_dfn_configs_build(path):
    init_default_scope('mmfer4d')
    cfg = Config.fromfile(path)
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.backbone.init_cfg = None
    model_cfg.data_preprocessor = cfg.data_preprocessor
    model = MODELS.build(model_cfg)
    assert model.head.num_aus == 21
    if cfg.model.type == 'DecoupledFineTuner':
        assert model.tap_names == ('layer1.1', 'layer2.1', 'layer3.1',
                                   'layer4.1')
        n_train = sum(p.numel() for p in model.parameters()
                      if p.requires_grad)
        n_all = sum(p.numel() for p in model.parameters())
        assert n_train < 0.1 * n_all
    x = torch.randn(2, 3, 3, 96, 96)
    assert model(x).shape[0] == 2
    from mmfer4d.registry import DATASETS
    ds = DATASETS.build(dict(cfg.test_dataloader.dataset, num_subjects=5))
    assert ds[0]['data_samples'].gt_au.shape == (21, )


def test_runner_trains_the_dfn_config_from_a_pretrained_backbone(tmp_path):
    """mmengine's Runner trains and tests the shipped DFN config (5
    synthetic subjects, 32 px renders, 1 epoch) with the backbone from a
    multi-view CE checkpoint; the backbone is unchanged after training."""
    from mmengine.runner import Runner

    from mmfer4d.apis.dfn_transfer import DFN_CONFIG, au_summary, set_epochs
    from mmfer4d.apis.kfold import set_fold
    init_default_scope('mmfer4d')
    cfg = Config.fromfile(DFN_CONFIG)
    pre = MODELS.build(
        dict(type='MultiViewClassifier', backbone=cfg.model.backbone,
             neck=cfg.model.neck, head=dict(
                 type='LinearClsHead', num_classes=6, in_channels=128),
             data_preprocessor=cfg.data_preprocessor))
    ckpt = str(tmp_path / 'pre.pth')
    torch.save(dict(state_dict=pre.state_dict()), ckpt)
    cfg.model.backbone.init_cfg.checkpoint = ckpt
    set_epochs(cfg, 1)
    set_fold(cfg, 0, 5, 0)
    for field in ('train_dataloader', 'test_dataloader'):
        loader = cfg[field]
        loader.dataset.num_subjects = 5
        loader.num_workers = 0
        loader.persistent_workers = False
        loader.batch_size = 16
        for step in loader.dataset.pipeline:
            if step['type'] == 'RenderMultiView':
                step['size'] = 32
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.work_dir = str(tmp_path / 'run')
    cfg.default_hooks.logger.interval = 1
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.test()
    model = runner.model
    assert type(model).__name__ == 'DecoupledFineTuner'
    for (n, p), (_, q) in zip(model.backbone.named_parameters(),
                              pre.backbone.named_parameters()):
        assert torch.equal(p, q), n
    summary = au_summary(metrics)
    assert 0.0 <= summary['mean_f1'] <= 100.0
    assert len(summary['f1']) == 21


def test_set_epochs_rewrites_the_schedule():
    from mmfer4d.apis.dfn_transfer import DFN_CONFIG, set_epochs
    cfg = Config.fromfile(DFN_CONFIG)
    set_epochs(cfg, 4)
    assert cfg.train_cfg.max_epochs == 4
    assert cfg.param_scheduler[-1]['end'] == 4
    assert cfg.default_hooks.checkpoint.interval == 4


def test_au_summary_keeps_only_frequent_aus():
    from mmfer4d.apis.dfn_transfer import au_summary
    metrics = {'au/mean_f1': 50.0, 'au/f1_AU1': 80.0, 'au/f1_AU2': 20.0,
               'au/f1_AU4': float('nan'), 'au/occurrence_AU1': 40.0,
               'au/occurrence_AU2': 4.0, 'au/occurrence_AU4': 0.0}
    s = au_summary(metrics)
    assert s['mean_f1'] == 50.0
    assert s['mean_f1_frequent'] == 80.0 and s['num_frequent'] == 1
