# Copyright (c) mmfer4d contributors. All rights reserved.
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmfer4d.registry import DATASETS, TRANSFORMS

CONFIG_DIR = osp.join(
    osp.dirname(__file__), '..', '..', '..', 'configs', '_base_', 'datasets')


@pytest.mark.parametrize('name,loader', [
    ('synthetic_fer3d', 'SynthesizeFaceMesh'),
    ('synthetic_fer4d', 'SynthesizeFaceSequence'),
    ('synthetic_mer4d', 'SynthesizeFaceSequence'),
])
def test_config_builds(name, loader):
    init_default_scope('mmfer4d')
    cfg = Config.fromfile(osp.join(CONFIG_DIR, name + '.py'))
    # Micro-expressions report UF1 / UAR (MERMetric), the others accuracy.
    expected = dict(type='MERMetric') if name == 'synthetic_mer4d' else dict(
        type='Accuracy', topk=(1, ))
    assert cfg.val_evaluator == expected
    for key in ('train_dataloader', 'val_dataloader'):
        ds = cfg[key].dataset
        assert (ds.fold, ds.num_folds, ds.seed) == (0, 10, 0)
        types = [t['type'] for t in ds.pipeline]
        assert loader in types and types[-1] == 'PackMultiViewInputs'
        # Every transform that is registered builds; the data set indexes.
        for t in ds.pipeline:
            if TRANSFORMS.get(t['type']) is not None:
                TRANSFORMS.build(t)
        small = dict(ds, num_subjects=10, pipeline=[])
        data = DATASETS.build(small)
        assert len(data) > 0 and data.split == ds.split
