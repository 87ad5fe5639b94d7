# Copyright (c) mmfer4d contributors. All rights reserved.
"""Backbone swaps: any zoo backbone on any rendered modality stack.

The swaps a user makes from the command line (README "Swapping the
backbone"), on the real tiny SMILE-VLM config, which renders depth +
normal (4 channels) and whose backbone is a ResNet-18: ConvNeXt takes
``in_channels``; EfficientNet and MobileNetV3 do not, and get a 1x1
convolution stem (:class:`InputChannelAdapter`).
"""
import argparse
import os.path as osp

import pytest
import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

from mmfer4d.models.backbones import InputChannelAdapter, backbone_in_channels
from mmfer4d.models.utils import build_model_from_cfg

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
CONFIG = osp.join(
    REPO, 'configs', 'smile_vlm',
    'smile-vlm_resnet18-w16_scratch_1xb32-20e_synthetic-fer3d-3view.py')


def _config(*options):
    """The tiny config with ``--cfg-options`` parsed as tools/train.py
    parses them."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(['--cfg-options', *options])
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict(args.cfg_options)
    return cfg


@pytest.mark.parametrize('swap,adapted', [
    (['model.backbone.type=ConvNeXt', 'model.backbone.arch=atto'], False),
    (['model.backbone.type=EfficientNet', 'model.backbone.arch=b0'], True),
    (['model.backbone.type=MobileNetV3', 'model.backbone.arch=small'], True),
])
def test_command_line_swap_builds_and_runs_on_4_channels(swap, adapted):
    init_default_scope('mmfer4d')
    torch.manual_seed(0)
    cfg = _config('model.backbone._delete_=True', *swap)
    model = build_model_from_cfg(cfg).eval()
    assert model.in_channels == 4  # depth + normal
    assert isinstance(model.backbone, InputChannelAdapter) == adapted
    name = swap[0].split('=')[1]
    inner = model.backbone.backbone if adapted else model.backbone
    assert type(inner).__name__ == name
    x = torch.randint(0, 256, (2, 3, 4, 64, 64)).float()  # (N, V, C, H, W)
    with torch.no_grad():
        fused, per_view = model.extract_feat(x)
    assert fused.shape == (2, 128) and per_view.shape == (2, 3, 128)
    assert torch.isfinite(fused).all()


def test_swap_without_delete_says_how():
    init_default_scope('mmfer4d')
    cfg = _config('model.backbone.type=ConvNeXt', 'model.backbone.arch=atto')
    assert cfg.model.backbone.depth == 18  # inherited from the ResNet
    with pytest.raises(TypeError) as info:
        build_model_from_cfg(cfg)
    msg = str(info.value)
    assert 'depth' in msg
    assert ('--cfg-options model.backbone._delete_=True '
            'model.backbone.type=ConvNeXt') in msg


def test_adapter_alone_and_explicit():
    init_default_scope('mmfer4d')
    torch.manual_seed(0)
    # Explicit, on a backbone that takes in_channels: its 3-channel stem
    # (e.g. pre-trained) is kept, the adapter maps 4 -> 3.
    cfg = _config(
        'model.backbone._delete_=True',
        'model.backbone.type=InputChannelAdapter',
        'model.backbone.backbone.type=ResNet',
        'model.backbone.backbone.depth=18',
        'model.backbone.backbone.base_channels=16',
        'model.backbone.norm_cfg.type=BN')
    model = build_model_from_cfg(cfg)
    assert model.backbone.in_channels == 4
    assert model.backbone.backbone.conv1.in_channels == 3
    assert model.backbone.adapter.norm is not None
    adapter = InputChannelAdapter(
        dict(type='MobileNetV3', arch='small'), in_channels=1)
    out = adapter(torch.randn(2, 1, 32, 32))
    assert out[-1].shape[0] == 2
    # Attributes fall through to the wrapped backbone.
    assert adapter.arch == adapter.backbone.arch
    with pytest.raises(ValueError, match=r'\(B, 1, H, W\)'):
        adapter(torch.randn(2, 3, 32, 32))
    with pytest.raises(ValueError, match='in_channels >= 1'):
        InputChannelAdapter(dict(type='MobileNetV3', arch='small'))
    assert backbone_in_channels(dict(type='ResNet', depth=18)) == 3
    assert backbone_in_channels(dict(type='EfficientNet')) is None
