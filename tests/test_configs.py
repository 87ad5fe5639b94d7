# Copyright (c) mmfer4d contributors. All rights reserved.
"""The shipped configs: names, READMEs and metafiles, models built from
them, the rendered modalities as their one source of input channels, and
deterministic 4D evaluation (data set parts are tested with the data
sets)."""
import glob
import os.path as osp
import re

import numpy as np
import pytest
import torch
import yaml
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope

from mmfer4d.apis.kfold import iter_dataset_cfgs
from mmfer4d.registry import MODELS
from mmfer4d.rendering import MODALITY_CHANNELS

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
METHOD_DIRS = ('smile_vlm', 'multiview_ce')
LEAF_CONFIGS = sorted(
    p for d in METHOD_DIRS
    for p in glob.glob(osp.join(ROOT, 'configs', d, '*.py')))
DATASET_BASES = sorted(
    glob.glob(osp.join(ROOT, 'configs', '_base_', 'datasets', '*.py')))
TINY_BASE = osp.join(ROOT, 'configs', '_base_', 'models',
                     'smile_vlm_resnet18-w16.py')
TINY_TEXT = dict(layers=1, width=64, heads=2, context_length=16)
TINY_RESNET = dict(type='ResNet', depth=18, base_channels=8, out_indices=(3, ))
# {algorithm}_{backbone}_{pretrain}_{schedule}_{data}, see STYLE.md.
NAME = re.compile(r'^[a-z0-9-]+_[a-z0-9-]+_[a-z0-9-]+_'
                  r'\d+xb\d+-\d+e_[a-z0-9-]+$')


def _ids(paths):
    return [osp.basename(p) for p in paths]


def _shrink_text(model_cfg):
    if model_cfg.get('text_encoder'):
        model_cfg.text_encoder.pretrained = None
        model_cfg.text_encoder.text_cfg_overrides = TINY_TEXT


def _pipelines(cfg):
    """(where, pipeline) of every loader and hook of ``cfg``."""
    for field in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(field):
            for ds in iter_dataset_cfgs(cfg[field].dataset):
                yield field, ds.pipeline
    for hook in cfg.get('custom_hooks', None) or []:
        if hook.get('pipeline'):
            yield hook.type, hook.pipeline


def _steps(pipeline, name):
    return [s for s in pipeline if str(s['type']).split('.')[-1] == name]


@pytest.mark.parametrize('method', METHOD_DIRS)
def test_naming_readme_and_metafile(method):
    folder = osp.join(ROOT, 'configs', method)
    names = [osp.basename(p)[:-3] for p in glob.glob(f'{folder}/*.py')]
    assert names
    for name in names:
        assert NAME.match(name), name
    meta = yaml.safe_load(
        open(osp.join(folder, 'metafile.yml'), encoding='utf-8'))
    listed = {m['Name']: m['Config'] for m in meta['Models']}
    assert set(listed) == set(names)
    for name, cfg_path in listed.items():
        assert osp.isfile(osp.join(ROOT, cfg_path)), cfg_path
    readme = open(osp.join(folder, 'README.md'), encoding='utf-8').read()
    for name in names:
        assert name in readme, name
    for section in ('## Abstract', '## How to use', '## Results',
                    '## Citation'):
        assert section in readme


def test_renamed_configs_are_listed():
    """The table of renamed configs maps every old path to a shipped one."""
    readme = open(
        osp.join(ROOT, 'configs', 'smile_vlm', 'README.md'),
        encoding='utf-8').read()
    section = readme.split('## Renamed configs')[1].split('\n## ')[0]
    rows = re.findall(r'^\| `(configs/[^`]+)` \| `(configs/[^`]+)`',
                      section, re.M)
    assert len(rows) >= 10
    for old, new in rows:
        assert not osp.exists(osp.join(ROOT, old)), old
        assert osp.isfile(osp.join(ROOT, new)), new


_BUILT_BACKBONES = set()


@pytest.mark.parametrize('path', LEAF_CONFIGS, ids=_ids(LEAF_CONFIGS))
def test_config_builds_model(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmfer4d'
    init_default_scope('mmfer4d')
    model_cfg = cfg.model
    # As mmengine's Runner does.
    model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    _shrink_text(model_cfg)
    # Each distinct backbone is built once; later configs with the same one
    # use a tiny ResNet to keep the suite fast.
    key = repr(sorted(model_cfg.backbone.items()))
    if key in _BUILT_BACKBONES:
        model_cfg.backbone = dict(TINY_RESNET)
        if model_cfg.get('head', {}).get('in_channels'):
            model_cfg.projector.out_channels = model_cfg.head.in_channels
    _BUILT_BACKBONES.add(key)
    model = MODELS.build(model_cfg)
    name = osp.basename(path)
    # The backbone sees the channels the pipelines render.
    render = _steps(cfg.test_dataloader.dataset.pipeline, 'RenderMultiView')
    # Or rendered on the device by the data preprocessor.
    render = render or [cfg.data_preprocessor.render]
    assert model.in_channels == sum(
        MODALITY_CHANNELS[m] for m in render[0]['modalities'])
    classes = cfg.train_dataloader.dataset.get('classes')
    if isinstance(classes, (list, tuple)):
        num_classes = len(classes)
    else:  # a count (BU-3DFE, Bosphorus) or the data set's default
        num_classes = classes
    if type(model).__name__ == 'SMILEVLM':
        assert model.prompt_bank.num_classes == len(model_cfg.classes)
        assert model.head.loss_mv is not None
        if isinstance(classes, (list, tuple)):
            assert tuple(classes) == model.classes
    else:
        assert type(model).__name__ == 'MultiViewClassifier'
    if num_classes is not None:
        assert model.num_classes == num_classes
    if type(model).__name__ == 'MultiViewClassifier':
        if '_scratch_' not in name:
            assert model_cfg.init_cfg.type == 'Pretrained'
        assert model.freeze == ('-linear_' in name)
    if 'pseudo' in name:
        assert model.text_source == 'pseudo'
        assert any(h.type == 'PseudoLabelHook' for h in cfg.custom_hooks)


@pytest.mark.parametrize(
    'path', LEAF_CONFIGS + DATASET_BASES,
    ids=_ids(LEAF_CONFIGS + DATASET_BASES))
def test_modalities_are_written_once(path):
    """Every render of a config uses the data preprocessor's modalities
    and one set of views and size, so that changing them is one edit."""
    cfg = Config.fromfile(path)
    if 'data_preprocessor' not in cfg:
        pytest.skip('no data set in this base')
    modalities = tuple(cfg.data_preprocessor.modalities)
    renders = [
        s for _, pipeline in _pipelines(cfg)
        for s in _steps(pipeline, 'RenderMultiView')
    ]
    if cfg.data_preprocessor.get('render'):
        renders.append(cfg.data_preprocessor.render)
    if not renders:
        pytest.skip('no pipeline in this base')
    assert {tuple(r['modalities']) for r in renders} == {modalities}
    assert len({(tuple(r['views']), r['size']) for r in renders}) == 1
    if 'model' in cfg:
        # The model config leaves the channels to the data.
        assert 'in_channels' not in cfg.model.backbone
        assert 'data_preprocessor' not in cfg.model


def test_normal_variant_follows_modalities_to_the_model():
    """bu3dfe_normal.py changes only `modalities` and the renders: the
    statistics and the backbone's input channels follow."""
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', 'smile_vlm',
                 'smile-vlm_efficientnet-b0_scratch_8xb32-50e_bu3dfe-3view'
                 '-normal.py'))
    assert cfg.data_preprocessor.modalities == ('normal', )
    init_default_scope('mmfer4d')
    pre = MODELS.build(cfg.data_preprocessor)
    from mmpretrain.structures import DataSample
    batch = pre(
        dict(
            inputs=[torch.full((3, 3, 8, 8), 255, dtype=torch.uint8)],
            data_samples=[DataSample(metainfo=dict(modalities=('normal', )))
                          ]))
    assert torch.allclose(batch['inputs'], torch.ones(1, 3, 3, 8, 8))


def _clip():
    """A data info for SampleFrames: a 40-frame clip."""
    return dict(num_frames=40, onset_frame=4, apex_frame=20, offset_frame=33)


def _four_d(paths):
    out = []
    for p in paths:
        cfg = Config.fromfile(p)
        if 'test_dataloader' in cfg and _steps(
                cfg.test_dataloader.dataset.pipeline, 'SampleFrames'):
            out.append(p)
    return out


FOUR_D = _four_d(DATASET_BASES + LEAF_CONFIGS)


@pytest.mark.parametrize('path', FOUR_D, ids=_ids(FOUR_D))
def test_4d_val_and_test_pick_the_same_frames_every_time(path):
    """Each val/test frame choice is built twice and run under different
    random states: the same frames; the training choice varies."""
    cfg = Config.fromfile(path)
    init_default_scope('mmfer4d')
    for field in ('val_dataloader', 'test_dataloader', 'train_dataloader'):
        steps = _steps(cfg[field].dataset.pipeline, 'SampleFrames')
        assert len(steps) == 1
        picks = []
        for seed in range(4):
            np.random.seed(seed)
            picks.append(tuple(Compose(steps)(_clip())['frame_inds']))
        if field == 'train_dataloader':
            assert len(set(picks)) > 1, 'training sampling should vary'
        else:
            assert len(set(picks)) == 1, (field, picks)
    if cfg.train_dataloader.dataset.type in ('FourDMEDataset',
                                             'SyntheticMER4D'):
        # Micro-expressions: from onset to offset (all of it, or its key
        # frames onset, apex, offset).
        assert steps[0]['mode'] in ('onset_offset', 'key_frames')


SYNTHETIC_4D = [
    p for p in FOUR_D
    if 'synthetic_fer4d' in p or 'synthetic_mer4d' in p or '64px' in p
]


@pytest.mark.parametrize('path', SYNTHETIC_4D, ids=_ids(SYNTHETIC_4D))
def test_synthetic_4d_test_pipeline_is_deterministic(path):
    """The whole test pipeline, built twice, renders the same inputs."""
    from mmfer4d.registry import DATASETS
    cfg = Config.fromfile(path)
    init_default_scope('mmfer4d')
    ds_cfg = cfg.test_dataloader.dataset.copy()
    pipeline = [dict(s) for s in ds_cfg.pop('pipeline')]
    for step in _steps(pipeline, 'RenderMultiView'):
        step['size'] = 24
    for step in _steps(pipeline, 'SampleFrames'):
        step['num_frames'] = 2
    dataset = DATASETS.build(dict(ds_cfg, num_subjects=10, pipeline=[]))
    info = dataset.get_data_info(0)
    outputs = []
    for seed in (0, 1):
        np.random.seed(seed)
        torch.manual_seed(seed)
        outputs.append(Compose(pipeline)(dict(info))['inputs'])
    assert torch.equal(outputs[0], outputs[1])


@pytest.mark.parametrize(
    'path', LEAF_CONFIGS + DATASET_BASES,
    ids=_ids(LEAF_CONFIGS + DATASET_BASES))
def test_micro_expression_configs_report_uf1_and_uar(path):
    cfg = Config.fromfile(path)
    if 'test_dataloader' not in cfg or cfg.test_dataloader.dataset.type \
            not in ('FourDMEDataset', 'SyntheticMER4D'):
        pytest.skip('not a micro-expression config')
    for field in ('val_evaluator', 'test_evaluator'):
        evaluator = cfg[field]
        metrics = evaluator if isinstance(evaluator, list) else [evaluator]
        assert any(m['type'] == 'MERMetric' for m in metrics), field


def test_full_text_tower_builds_offline():
    init_default_scope('mmfer4d')
    enc = MODELS.build(
        dict(type='OpenCLIPTextEncoder', pretrained=None, out_channels=8))
    assert enc.tower.transformer.layers == 12
    assert enc(['a smiling person']).shape == (1, 8)


SWAPS = {
    'resnet':
    dict(type='ResNet', depth=18, base_channels=8, out_indices=(3, )),
    'vit':
    dict(
        type='VisionTransformer',
        arch=dict(
            embed_dims=32, num_layers=1, num_heads=2, feedforward_channels=64),
        img_size=64,
        patch_size=16,
        out_type='cls_token'),
    'swin':
    dict(
        type='SwinTransformer',
        arch=dict(embed_dims=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 1, 1]),
        img_size=64,
        pad_small_map=True),
    'convnext':
    dict(
        type='ConvNeXt',
        arch=dict(depths=[1, 1, 1, 1], channels=[8, 16, 32, 64]),
        gap_before_final_norm=True),
}
WIDTH = dict(resnet=64, vit=32, swin=128, convnext=64)


@pytest.mark.parametrize('family', sorted(SWAPS))
def test_backbone_swap_by_cfg_options(family):
    cfg = Config.fromfile(TINY_BASE)
    cfg.merge_from_dict({
        'model.backbone': dict(_delete_=True, **SWAPS[family]),
        'model.projector.out_channels': 16,
        'model.projector.hid_channels': 32,
        'model.classes': ('anger', 'happiness', 'sadness'),
        'model.data_preprocessor': dict(
            type='MultiViewDataPreprocessor',
            modalities=('depth', 'normal')),
    })
    assert cfg.model.backbone.type == SWAPS[family]['type']
    assert 'depth' not in cfg.model.backbone or family == 'resnet'
    _shrink_text(cfg.model)
    init_default_scope('mmfer4d')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    # in_channels from the modalities, D_v from the backbone.
    assert model.in_channels == 4
    assert model.projector.in_channels == WIDTH[family]
    from mmpretrain.structures import DataSample
    x = torch.randn(4, 3, 4, 64, 64)
    ds = [DataSample().set_gt_label(i % 3) for i in range(4)]
    losses = model(x, ds, mode='loss')
    assert set(losses) == {'loss_mv', 'loss_vl', 'loss_cmr'}
    assert all(torch.isfinite(v) for v in losses.values())
