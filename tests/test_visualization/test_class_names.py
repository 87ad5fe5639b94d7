# Copyright (c) mmfer4d contributors. All rights reserved.
"""Class names for pictures of a predictions file."""
import glob
import os.path as osp

import pytest
import torch

from mmfer4d.visualization import (classes_from_config, names_in_samples,
                                   resolve_class_names)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _sample(label, name=None, **extra):
    sample = dict(gt_label=torch.tensor([label]), **extra)
    if name is not None:
        sample['expression'] = name
    return sample


def test_names_read_from_the_samples():
    samples = [_sample(2, 'fear'), _sample(0, 'anger'), _sample(2, 'fear'),
               _sample(1)]
    assert names_in_samples(samples) == {0: 'anger', 2: 'fear'}
    # a class nothing names keeps its index
    assert resolve_class_names(4, samples) == ['anger', '1', 'fear', '3']
    # the user's names win
    assert resolve_class_names(2, samples, classes=['a', 'b', 'c']) == [
        'a', 'b'
    ]
    # a full list in the samples' metainfo wins over per-sample names
    full = [_sample(0, 'anger', classes=('x', 'y'))]
    assert names_in_samples(full) == {0: 'x', 1: 'y'}


def test_fallback_fills_and_must_agree():
    samples = [_sample(0, 'anger')]
    assert resolve_class_names(3, samples, fallback=['anger', 'b', 'c']) == [
        'anger', 'b', 'c'
    ]
    with pytest.raises(ValueError, match='differently'):
        resolve_class_names(3, samples, fallback=['x', 'b', 'c'])
    with pytest.raises(ValueError, match='2 fallback names for 3'):
        resolve_class_names(3, samples, fallback=['x', 'b'])
    with pytest.raises(ValueError, match='names label 0'):
        names_in_samples([_sample(0, 'anger'), _sample(0, 'fear')])


def test_classes_from_a_config_without_loading_samples():
    config = sorted(
        glob.glob(osp.join(REPO, 'configs', 'smile_vlm', '*bu3dfe*.py')))[0]
    # BU-3DFE is not here: the data set is built lazily, nothing is read
    assert classes_from_config(config) == [
        'anger', 'disgust', 'fear', 'happiness', 'sadness', 'surprise'
    ]
