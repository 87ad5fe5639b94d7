# Copyright (c) mmfer4d contributors. All rights reserved.
import numpy as np
import pytest
import torch
from mmpretrain.structures import DataSample

from mmfer4d.datasets.transforms import PackMultiViewInputs, stack_views
from mmfer4d.registry import TRANSFORMS


def _views(v=3, h=5, w=7, c=4, offset=0):
    return [
        np.full(
            (h, w, c), offset + i, np.uint8) + np.arange(c, dtype=np.uint8)
        for i in range(v)
    ]


def test_pack_scan():
    results = dict(
        img=_views(),
        gt_label=2,
        subject='F001',
        intensity=3,
        expression='happiness',
        view_angles=[(0, 0, 0), (-45, 0, 0), (45, 0, 0)],
        modalities=('depth', 'normal'),
        sample_idx=5,
        au_labels=np.array([0, 1, 1], np.int8),
        mesh=object())
    packed = TRANSFORMS.build(dict(type='PackMultiViewInputs'))(results)
    assert set(packed) == {'inputs', 'data_samples'}
    inputs = packed['inputs']
    assert inputs.dtype == torch.uint8 and inputs.shape == (3, 4, 5, 7)
    # (V, C, H, W): view i, channel c is i + c everywhere.
    assert inputs[2, 3, 4, 6] == 5 and inputs[1, 0, 0, 0] == 1
    sample = packed['data_samples']
    assert isinstance(sample, DataSample)
    assert sample.gt_label.tolist() == [2]
    assert sample.subject == 'F001' and sample.intensity == 3
    assert sample.expression == 'happiness' and sample.sample_idx == 5
    assert sample.modalities == ('depth', 'normal')
    assert 'subject' in sample.metainfo_keys()
    assert 'gt_au' in sample.keys()
    assert sample.gt_au.dtype == torch.float32
    assert sample.gt_au.tolist() == [0.0, 1.0, 1.0]
    assert 'frame_inds' not in sample


def test_pack_sequence():
    frames = [_views(offset=10 * t) for t in range(2)]
    packed = PackMultiViewInputs()(
        dict(img=frames, gt_label=0, frame_inds=np.array([3, 9])))
    inputs = packed['inputs']
    assert inputs.shape == (2, 3, 4, 5, 7) and inputs.dtype == torch.uint8
    assert inputs[1, 2, 0, 0, 0] == 12
    np.testing.assert_array_equal(packed['data_samples'].frame_inds, [3, 9])
    assert 'gt_au' not in packed['data_samples']


def test_stack_views_errors():
    assert stack_views([np.zeros((4, 4), np.uint8)]).shape == (1, 1, 4, 4)
    with pytest.raises(TypeError, match='uint8'):
        stack_views([np.zeros((4, 4, 1), np.float32)])
    with pytest.raises(ValueError, match='differ in shape'):
        stack_views(
            [np.zeros((4, 4, 1), np.uint8),
             np.zeros((4, 5, 1), np.uint8)])
    with pytest.raises(KeyError, match='img'):
        PackMultiViewInputs()(dict(gt_label=1))
