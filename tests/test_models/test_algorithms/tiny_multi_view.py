# Copyright (c) mmfer4d contributors. All rights reserved.
"""Tiny CPU configs shared by the multi-view model tests (and the hook
tests): ResNet-18 with 8 base channels, D = 16, 3 views, 32 px."""
import copy

import torch
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample

from mmfer4d.registry import MODELS

CLASSES = ('anger', 'happiness', 'sadness', 'neutral')
TINY_TEXT = dict(
    type='OpenCLIPTextEncoder',
    text_cfg_overrides=dict(layers=1, width=64, heads=2, context_length=16))
VISION = dict(
    data_preprocessor=dict(
        type='MultiViewDataPreprocessor', mean=[127.5] * 4, std=[127.5] * 4),
    backbone=dict(
        type='ResNet',
        depth=18,
        base_channels=8,
        in_channels=4,
        out_indices=(3, )),
    projector=dict(
        type='MultiViewProjectionHead', out_channels=16, hid_channels=32),
    view_fusion=dict(type='LearnableViewWeightFusion', num_views=3))
HEAD = dict(type='LinearClsHead', num_classes=4, in_channels=16)


def build_model(type, **overrides):
    """A tiny model of ``type``; overrides replace top-level keys."""
    init_default_scope('mmfer4d')
    torch.manual_seed(0)
    cfg = dict(type=type, **copy.deepcopy(VISION))
    if type == 'SMILEVLM':
        cfg.update(text_encoder=TINY_TEXT, classes=CLASSES)
    cfg.update(copy.deepcopy(overrides))
    return MODELS.build(cfg)


def samples(n=6, labels=None):
    labels = labels if labels is not None else [i % 4 for i in range(n)]
    return [
        DataSample(metainfo=dict(sample_idx=i, intensity=i % 5 -
                                 1)).set_gt_label(lab)
        for i, lab in enumerate(labels)
    ]


def assert_all_grads(model):
    """Every trainable parameter got a gradient."""
    missing = [
        n for n, p in model.named_parameters()
        if p.requires_grad and p.grad is None
    ]
    assert not missing, missing
