# Copyright (c) mmfer4d contributors. All rights reserved.
"""The protocol a config states, and the subjects of its splits."""
import os.path as osp

import pytest
from mmengine.config import Config

from mmfer4d.apis import (config_num_folds, describe_protocol, set_fold,
                          split_subjects)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BASES = osp.join(REPO, 'configs', '_base_', 'datasets')


@pytest.mark.parametrize('name, folds', [('fourdme.py', 'loso'),
                                         ('bu3dfe.py', 10),
                                         ('bu4dfe.py', 10)])
def test_published_protocol_of_the_dataset_configs(name, folds):
    assert config_num_folds(Config.fromfile(osp.join(BASES, name)))[0] == \
        folds


def _synthetic(num_folds=None, test_folds=None):
    dataset = dict(type='SyntheticFER3D', num_subjects=6, intensities=[4])
    if num_folds is not None:
        dataset['num_folds'] = num_folds
    test = dict(dataset)
    if test_folds is not None:
        test['num_folds'] = test_folds
    return Config(dict(train_dataloader=dict(dataset=dataset),
                       test_dataloader=dict(dataset=test)))


def test_protocol_stated_once_and_consistently():
    assert config_num_folds(_synthetic('loso'))[0] == 'loso'
    assert config_num_folds(_synthetic(None))[0] is None
    with pytest.raises(ValueError, match='different protocols'):
        config_num_folds(_synthetic(3, test_folds='loso'))


def test_loso_from_the_config_and_overrides():
    cfg = _synthetic('loso')
    protocol = describe_protocol(cfg, None, [0])
    assert (protocol['folds'], protocol['num_fold_runs'],
            protocol['subjects'], protocol['dataset']) == \
        ('loso', 6, 6, 'SyntheticFER3D')
    assert describe_protocol(cfg, 3)['num_fold_runs'] == 3
    # No num_folds in the config: the data set class's default (10 folds
    # for every BaseFERDataset).
    assert describe_protocol(_synthetic(None))['folds'] == 10


def test_loso_folds_hold_one_subject_each():
    cfg = _synthetic('loso')
    seen = []
    for fold in range(6):
        fold_cfg = Config(cfg.to_dict())
        set_fold(fold_cfg, fold, 'loso', 0)
        test = split_subjects(fold_cfg, 'test_dataloader')
        train = split_subjects(fold_cfg, 'train_dataloader')
        assert len(test) == 1 and len(train) == 5 and not test & train
        seen += list(test)
    assert len(set(seen)) == 6
