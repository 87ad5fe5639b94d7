# Copyright (c) mmfer4d contributors. All rights reserved.
"""Model parts of the shipped SMILE-VLM configs (data parts are tested with
the data sets)."""
import glob
import os.path as osp
import re

import pytest
import torch
import yaml
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmfer4d.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_DIR = osp.join(ROOT, 'configs', 'smile_vlm')
LEAF_CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, '*.py')))
TINY_BASE = osp.join(ROOT, 'configs', '_base_', 'models',
                     'smile_vlm_resnet18-w16.py')
TINY_TEXT = dict(layers=1, width=64, heads=2, context_length=16)
TINY_RESNET = dict(
    _delete_=True,
    type='ResNet',
    depth=18,
    base_channels=8,
    in_channels=4,
    out_indices=(3, ))
# {algorithm}_{backbone}_{pretrain}_{schedule}_{data}, see STYLE.md.
NAME = re.compile(r'^smile-vlm(-[a-z]+)?_[a-z0-9-]+_[a-z0-9-]+_'
                  r'\d+xb\d+-\d+e_[a-z0-9-]+$')


def _missing_bases(path):
    """Dataset base files a config needs that colleagues have not shipped."""
    missing = []
    text = open(path, encoding='utf-8').read()
    for rel in re.findall(r"'(\.\./_base_/datasets/[^']+)'", text):
        if not osp.isfile(osp.normpath(osp.join(osp.dirname(path), rel))):
            missing.append(rel)
    for rel in re.findall(r"'\./([^']+\.py)'", text):
        missing += _missing_bases(osp.join(osp.dirname(path), rel))
    return missing


def _load(path):
    missing = _missing_bases(path)
    if missing:
        pytest.skip(f'data-set base config not written yet: {missing}')
    return Config.fromfile(path)


def _shrink_text(model_cfg):
    if model_cfg.get('text_encoder'):
        model_cfg.text_encoder.pretrained = None
        model_cfg.text_encoder.text_cfg_overrides = TINY_TEXT


def test_naming_readme_and_metafile():
    assert len(LEAF_CONFIGS) >= 12
    names = [osp.basename(p)[:-3] for p in LEAF_CONFIGS]
    for name in names:
        assert NAME.match(name), name
    meta = yaml.safe_load(
        open(osp.join(CONFIG_DIR, 'metafile.yml'), encoding='utf-8'))
    listed = {m['Name']: m['Config'] for m in meta['Models']}
    assert set(listed) == set(names)
    for name, cfg_path in listed.items():
        assert osp.isfile(osp.join(ROOT, cfg_path)), cfg_path
    readme = open(osp.join(CONFIG_DIR, 'README.md'), encoding='utf-8').read()
    for name in names:
        assert name in readme, name
    for section in ('## Abstract', '## How to use', '## Results',
                    '## Citation'):
        assert section in readme


_BUILT_BACKBONES = set()


@pytest.mark.parametrize(
    'path', LEAF_CONFIGS, ids=[osp.basename(p) for p in LEAF_CONFIGS])
def test_config_builds_model(path):
    cfg = _load(path)
    assert cfg.default_scope == 'mmfer4d'
    init_default_scope('mmfer4d')
    model_cfg = cfg.model
    _shrink_text(model_cfg)
    # Each distinct backbone is built once; later configs with the same one
    # use a tiny ResNet to keep the suite fast.
    key = repr(sorted(model_cfg.backbone.items()))
    if key in _BUILT_BACKBONES:
        model_cfg.backbone = {
            k: v
            for k, v in TINY_RESNET.items() if k != '_delete_'
        }
        if model_cfg.get('head'):
            model_cfg.projector.out_channels = model_cfg.head.in_channels
    _BUILT_BACKBONES.add(key)
    model = MODELS.build(model_cfg)
    assert type(model).__name__ == 'SMILEVLM'
    if model.predict_mode == 'zero_shot':
        assert model.prompt_bank.num_classes == len(model_cfg.classes)
        assert model.loss_mv is not None
    else:
        assert model.head.num_classes == len(model_cfg.classes)
        assert model_cfg.init_cfg.type == 'Pretrained'
    if 'pseudo' in osp.basename(path):
        assert model.text_source == 'pseudo'
        assert any(h.type == 'PseudoLabelHook' for h in cfg.custom_hooks)


def test_full_text_tower_builds_offline():
    init_default_scope('mmfer4d')
    enc = MODELS.build(
        dict(type='OpenCLIPTextEncoder', pretrained=None, out_channels=8))
    assert enc.tower.transformer.layers == 12
    assert enc(['a smiling person']).shape == (1, 8)


SWAPS = {
    'resnet':
    dict(
        type='ResNet',
        depth=18,
        base_channels=8,
        in_channels=4,
        out_indices=(3, )),
    'vit':
    dict(
        type='VisionTransformer',
        arch=dict(
            embed_dims=32, num_layers=1, num_heads=2, feedforward_channels=64),
        img_size=64,
        patch_size=16,
        in_channels=4,
        out_type='cls_token'),
    'swin':
    dict(
        type='SwinTransformer',
        arch=dict(embed_dims=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 1, 1]),
        img_size=64,
        in_channels=4,
        pad_small_map=True),
    'convnext':
    dict(
        type='ConvNeXt',
        arch=dict(depths=[1, 1, 1, 1], channels=[8, 16, 32, 64]),
        in_channels=4,
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
    })
    assert cfg.model.backbone.type == SWAPS[family]['type']
    assert 'depth' not in cfg.model.backbone or family == 'resnet'
    _shrink_text(cfg.model)
    init_default_scope('mmfer4d')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    assert model.projector.in_channels == WIDTH[family]
    from mmpretrain.structures import DataSample
    x = torch.randn(4, 3, 4, 64, 64)
    ds = [DataSample().set_gt_label(i % 3) for i in range(4)]
    losses = model(x, ds, mode='loss')
    assert set(losses) == {'loss_mv', 'loss_vl', 'loss_cmr'}
    assert all(torch.isfinite(v) for v in losses.values())
