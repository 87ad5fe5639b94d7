# Copyright (c) mmfer4d contributors. All rights reserved.
"""configs/mf2: names, README and metafile, and every MF² config builds
its model, data sets and pipelines."""
import glob
import os.path as osp
import re

import pytest
import yaml
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope

from mmfer4d.registry import DATASETS, MODELS

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
FOLDER = osp.join(ROOT, 'configs', 'mf2')
MF2_CONFIGS = sorted(glob.glob(osp.join(FOLDER, 'mf2_*.py')))
NAME = re.compile(r'^[a-z0-9-]+_[a-z0-9-]+_[a-z0-9-]+_'
                  r'\d+xb\d+-\d+e_[a-z0-9-]+$')


def test_naming_readme_metafile_and_model_index():
    names = [osp.basename(p)[:-3] for p in glob.glob(f'{FOLDER}/*.py')]
    assert len(MF2_CONFIGS) == 4
    for name in names:
        assert NAME.match(name), name
    meta = yaml.safe_load(open(osp.join(FOLDER, 'metafile.yml')))
    listed = {m['Name']: m['Config'] for m in meta['Models']}
    assert set(listed) == set(names)
    for path in listed.values():
        assert osp.isfile(osp.join(ROOT, path)), path
    readme = open(osp.join(FOLDER, 'README.md'), encoding='utf-8').read()
    for name in names:
        assert name in readme, name
    for section in ('## Abstract', '## How to use', '## Results',
                    '## Citation'):
        assert section in readme
    index = yaml.safe_load(open(osp.join(ROOT, 'model-index.yml')))
    assert 'configs/mf2/metafile.yml' in index['Import']


@pytest.mark.parametrize('path', MF2_CONFIGS, ids=osp.basename)
def test_mf2_config_builds(path):
    cfg = Config.fromfile(path)
    init_default_scope('mmfer4d')
    model_cfg = cfg.model
    model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    model_cfg.text_encoder.pretrained = None  # no download in tests
    model_cfg.text_encoder.text_cfg_overrides = dict(
        layers=1, width=64, heads=2, context_length=48)
    model = MODELS.build(model_cfg)
    assert type(model).__name__ == 'MF2'
    assert model.head.au_classifier.out_features == len(model.au_names)
    name = osp.basename(path)
    if 'bp4d' in name:
        assert len(model.au_names) == 12 and len(model.classes) == 8
        assert cfg.train_dataloader.dataset.num_folds == 3
    if 'disfa' in name:
        assert len(model.au_names) == 8 and model.classes == ()
        assert model.head.emotion_classifier is None
        assert cfg.train_dataloader.dataset.num_folds == 3
    if 'synthetic' in name:
        assert len(model.au_names) == 21 and len(model.classes) == 6
        ds = DATASETS.build(dict(cfg.test_dataloader.dataset,
                                 num_subjects=5, num_folds=5))
        assert tuple(ds.metainfo['au_names']) == model.au_names
        sample = ds[0]
        assert sample['inputs'].shape[:2] == (3, 3)  # 3 views, normals
        assert sample['data_samples'].landmarks_2d.shape == (3, 68, 2)
        assert sample['data_samples'].gt_au.shape == (21, )
    else:
        Compose(cfg.train_dataloader.dataset.pipeline)
        assert cfg.data_preprocessor.modalities == ('rgb', )
        assert model.in_channels == 3
