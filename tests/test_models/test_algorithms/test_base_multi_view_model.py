# Copyright (c) mmfer4d contributors. All rights reserved.
import os.path as osp
import sys

import pytest
import torch
from mmengine.registry import init_default_scope

from mmfer4d.models import BaseMultiViewModel
from mmfer4d.registry import MODELS

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from tiny_multi_view import HEAD, build_model  # noqa: E402

TINY_RESNET = dict(type='ResNet', depth=18, base_channels=8, out_indices=(3, ))


def vision(**overrides):
    init_default_scope('mmfer4d')
    torch.manual_seed(0)
    cfg = dict(
        backbone=TINY_RESNET,
        projector=dict(
            type='MultiViewProjectionHead', out_channels=16,
            hid_channels=32))
    cfg.update(overrides)
    return BaseMultiViewModel(**cfg)


@pytest.mark.parametrize('modalities,channels', [
    (('depth', 'normal'), 4),
    (('normal', ), 3),
    (('depth', ), 1),
    (('rgb', 'depth', 'mask'), 5),
])
def test_in_channels_follow_the_rendered_modalities(modalities, channels):
    m = vision(data_preprocessor=dict(
        type='MultiViewDataPreprocessor', modalities=modalities))
    assert m.in_channels == channels
    assert m.backbone.conv1.in_channels == channels
    fused, per_view = m(torch.randn(2, 3, channels, 32, 32))
    assert fused.shape == (2, 16) and per_view.shape == (2, 3, 16)


def test_in_channels_from_mean_or_the_backbone():
    m = vision(data_preprocessor=dict(
        type='MultiViewDataPreprocessor', mean=[0] * 4, std=[1] * 4))
    assert m.in_channels == 4
    # Nothing to infer from: the backbone's own default.
    assert vision().backbone.conv1.in_channels == 3
    # Given and consistent, or contradicting the renders.
    given = dict(TINY_RESNET, in_channels=3)
    dp = dict(type='MultiViewDataPreprocessor', modalities=('normal', ))
    assert vision(backbone=given, data_preprocessor=dp).in_channels == 3
    with pytest.raises(ValueError, match='in_channels=3'):
        vision(
            backbone=given,
            data_preprocessor=dict(dp, modalities=('depth', 'normal')))


def test_backbone_without_in_channels_gets_an_adapter_when_needed():
    from mmfer4d.models.backbones import InputChannelAdapter
    effnet = dict(type='EfficientNet', arch='b0')
    dp = dict(type='MultiViewDataPreprocessor', modalities=('normal', ))
    m = vision(backbone=effnet, data_preprocessor=dp)
    assert 'in_channels' not in effnet and m.in_channels == 3
    assert not isinstance(m.backbone, InputChannelAdapter)
    assert m(torch.randn(1, 3, 3, 64, 64))[0].shape == (1, 16)
    # Depth + normal: 4 channels, a 1x1 convolution to EfficientNet's 3.
    m = vision(backbone=effnet,
               data_preprocessor=dict(dp, modalities=('depth', 'normal')))
    assert isinstance(m.backbone, InputChannelAdapter)
    assert m.in_channels == 4
    assert m.backbone.adapter.conv.weight.shape == (3, 4, 1, 1)
    assert m(torch.randn(1, 3, 4, 64, 64))[0].shape == (1, 16)


def test_stages_compose_to_extract_feat():
    """A subclass can stop at the feature maps (e.g. to pool AU regions)
    and reuse the other stages."""
    m = vision().eval()
    x = torch.randn(2, 2, 3, 3, 32, 32)  # (N, T, V, C, H, W)
    maps = m.extract_feat_maps(x)
    assert maps[-1].shape == (2 * 2 * 3, 64, 1, 1)  # B = N * T * V
    z = m.embed_views(maps, num_views=3)
    assert z.shape == (4, 3, 16)  # (N * T, V, D)
    fused, per_view = m.fuse(z, num_frames=2)
    ref = m.extract_feat(x)
    assert torch.allclose(fused, ref[0]) and torch.allclose(per_view, ref[1])
    with pytest.raises(ValueError, match='inputs'):
        m.extract_feat_maps(torch.randn(3, 32, 32))
    with pytest.raises(NotImplementedError):
        m(torch.randn(1, 3, 3, 32, 32), [], mode='loss')


def test_4d_orders_differ():
    x = torch.randn(2, 3, 3, 4, 32, 32)
    cfg = dict(
        temporal_fusion=dict(type='AttentionTemporalFusion'),
        view_fusion=dict(type='AttentionViewFusion'))
    a = build_model(
        'MultiViewClassifier', head=HEAD, temporal_fusion_order='before',
        **cfg).eval()
    b = build_model(
        'MultiViewClassifier', head=HEAD, temporal_fusion_order='after',
        **cfg).eval()
    b.load_state_dict(a.state_dict())
    assert not torch.allclose(a(x)[0], b(x)[0])
    assert torch.allclose(a(x)[1], b(x)[1])


def test_errors():
    with pytest.raises(ValueError, match='temporal_fusion_order'):
        vision(temporal_fusion_order='middle')
    with pytest.raises(KeyError, match='NoSuchFusion'):
        vision(view_fusion=dict(type='NoSuchFusion'))


def test_registered_and_exported():
    import mmfer4d.models as models
    for name in ('BaseMultiViewModel', 'MultiViewClassifier', 'SMILEVLM',
                 'SMILEVLMHead'):
        assert name in models.__all__
    assert MODELS.get('MultiViewClassifier') is models.MultiViewClassifier
    assert MODELS.get('SMILEVLMHead') is models.SMILEVLMHead
