# Copyright (c) mmfer4d contributors. All rights reserved.
"""The dataset base configs load and their datasets build on tiny trees
(pipelines are replaced by [] here; transforms are tested elsewhere)."""
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmfer4d.datasets  # noqa: F401 (registers the data sets)
from mmfer4d.registry import DATASETS

CONFIG_DIR = osp.join(
    osp.dirname(__file__), '..', '..', 'configs', '_base_', 'datasets')


def _tree(root, name):
    """Two subjects of empty files in the data set's layout."""
    files = {
        'bu3dfe': ['{s}/{s}_HA04WH_F3D.wrl', '{s}/{s}_SA03WH_F3D.wrl'],
        'bu4dfe': ['{s}/Happy/000.wrl', '{s}/Sad/000.wrl'],
        'bosphorus': ['{s}/{s}_E_HAPPY_0.bnt', '{s}/{s}_E_FEAR_0.bnt'],
        'bp4d': ['{s}/T1/1.obj', '{s}/T2/1.obj'],
        'fourdme': ['{s}/c1/1.obj'],
    }[name]
    subjects = {'bu3dfe': ('F0001', 'M0001'), 'bu4dfe': ('F001', 'M001'),
                'bosphorus': ('bs000', 'bs001')}.get(name, ('S1', 'S2'))
    for s in subjects:
        for pattern in files:
            path = root / pattern.format(s=s)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
    if name == 'fourdme':
        (root / 'labels.csv').write_text(
            'subject,clip,onset,apex,offset,emotion,AUs\n'
            'S1,c1,1,1,1,positive,AU12\nS2,c1,1,1,1,negative,AU4\n')
    return subjects


@pytest.mark.parametrize(
    'name', ['bu3dfe', 'bu4dfe', 'bosphorus', 'bp4d', 'fourdme'])
def test_config_builds(tmp_path, name):
    cfg = Config.fromfile(osp.join(CONFIG_DIR, f'{name}.py'))
    for key in ('dataset_type', 'data_root', 'train_pipeline',
                'test_pipeline', 'train_dataloader', 'val_dataloader',
                'test_dataloader', 'val_evaluator', 'test_evaluator'):
        assert key in cfg, key
    # Micro-expressions report UF1 / UAR (MERMetric), the others accuracy.
    expected = dict(type='MERMetric') if name == 'fourdme' else dict(
        type='Accuracy', topk=(1, ))
    assert cfg.val_evaluator == expected
    assert cfg.train_dataloader.dataset.type == cfg.dataset_type
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[loader].collate_fn == dict(
            type='skip_broken_collate', collate='default_collate')
    names = [t['type'] for t in cfg.train_pipeline]
    assert names[-2:] == ['RenderMultiView', 'PackMultiViewInputs']
    subjects = _tree(tmp_path, name)
    init_default_scope('mmfer4d')
    for loader, split in (('train_dataloader', 'train'),
                          ('test_dataloader', 'test')):
        dataset = dict(cfg[loader].dataset)
        assert dataset['split'] == split and dataset['fold'] == 0
        dataset.update(data_root=str(tmp_path), pipeline=[], num_folds=2)
        ds = DATASETS.build(dataset)
        assert len(ds.subjects) == 1 and ds.subjects[0] in subjects
        assert len(ds) >= 1
