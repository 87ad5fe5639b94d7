# Copyright (c) mmfer4d contributors. All rights reserved.
"""Honest skipping end to end: a BU-3DFE test split with broken scans.

A real runner tests a BU-3DFE tree (hand-typed VRML97 scans) whose test
split holds 24 scans, 2 of them broken, with the data set's
``skip_broken=True``, ``skip_broken_collate`` and ``SkippedSampleHook``:
22 distinct predictions (no broken scan replaced by another), the metric
says 22 scored and 2 skipped, and the summary line and
``skipped_samples.json`` name both files, with 0 and with 2 data-loader
workers. Only the model is a stand-in (it scores the mean vertex position);
loading, the data set, collating, the hook and the metric are the real ones.
"""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmcv.transforms import BaseTransform
from mmengine.config import Config
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmpretrain.structures import DataSample

from mmfer4d.datasets import BU3DFEDataset
from mmfer4d.engine.hooks import SkippedSampleHook
from mmfer4d.registry import METRICS, MODELS, TRANSFORMS

CODES = ('AN', 'DI', 'FE', 'HA', 'SA', 'SU')
SUBJECTS = ('F0001', 'F0002', 'M0001', 'M0002')
# A square pyramid, about the size of a face (mm), in a flat VRML97 scene.
SCAN = '''#VRML V2.0 utf8
Shape {{
  geometry IndexedFaceSet {{
    coord Coordinate {{
      point [ 0 0 {h}, 60 0 0, 0 60 0, -60 0 0, 0 -60 0 ]
    }}
    coordIndex [ 0 1 2 -1 0 2 3 -1 0 3 4 -1 0 4 1 -1 ]
  }}
}}
'''
BROKEN = '#VRML V2.0 utf8\nShape { geometry IndexedFaceSet { coord '


@TRANSFORMS.register_module(force=True)
class _PackMeshCentroid(BaseTransform):
    """Stand-in for rendering: the mean vertex as a (1, 1, 1, 3) input."""

    def transform(self, results):
        centroid = results['mesh'].vertices.mean(0).astype(np.float32)
        sample = DataSample(metainfo=dict(
            sample_idx=results['sample_idx'],
            mesh_path=results['mesh_path'])).set_gt_label(
                results['gt_label'])
        return dict(
            inputs=torch.from_numpy(centroid).view(1, 1, 1, 3),
            data_samples=sample)


@MODELS.register_module(force=True)
class _CentroidScorer(BaseModel):

    def __init__(self, data_preprocessor=None):
        super().__init__(data_preprocessor=data_preprocessor)
        self.weight = torch.nn.Parameter(torch.linspace(-1, 1, 18).view(3, 6))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        scores = (inputs.flatten(1) @ self.weight).softmax(-1)
        if mode == 'loss':
            return dict(loss=-scores.max(-1)[0].log().mean())
        for sample, score in zip(data_samples, scores):
            sample.set_pred_score(score)
        return data_samples


@METRICS.register_module(force=True)
class _RecordPredictions(BaseMetric):
    """Which scans got a prediction (kept on the class for the test)."""
    seen = []

    def process(self, data_batch, data_samples):
        for sample in data_samples:
            self.results.append(sample['mesh_path'])

    def compute_metrics(self, results):
        type(self).seen = list(results)
        return dict(num_predictions=len(results),
                    num_distinct=len(set(results)))


@pytest.fixture(scope='module')
def tree(tmp_path_factory):
    """4 subjects x 6 expressions x intensities 3-4; 2 test scans broken."""
    root = tmp_path_factory.mktemp('BU3DFE')
    for k, subject in enumerate(SUBJECTS):
        (root / subject).mkdir()
        for c, code in enumerate(CODES):
            for level in (3, 4):
                name = f'{subject}_{code}0{level}WH_F3D.wrl'
                (root / subject / name).write_text(
                    SCAN.format(h=10 + 5 * c + level + k))
    test = BU3DFEDataset(data_root=str(root), fold=0, num_folds=2,
                         split='test')
    assert len(test) == 24
    # Two neighbouring scans: with batch_size=2 one batch is all broken.
    broken = [test.get_data_info(i)['mesh_path'] for i in (4, 5)]
    for path in broken:
        with open(path, 'w') as f:
            f.write(BROKEN)
    return str(root), broken


def _config(root, work_dir, num_workers):
    dataset = dict(type='BU3DFEDataset', data_root=root, fold=0,
                   num_folds=2, split='test', skip_broken=True,
                   pipeline=[dict(type='LoadMeshFromFile',
                                  load_texture=False),
                             dict(type='_PackMeshCentroid')])
    return Config(dict(
        default_scope='mmfer4d',
        work_dir=work_dir,
        # A logger of its own: one made in the same second would be reused.
        experiment_name=f'skip_{osp.basename(work_dir)}_{num_workers}',
        model=dict(type='_CentroidScorer',
                   data_preprocessor=dict(type='MultiViewDataPreprocessor')),
        test_dataloader=dict(
            batch_size=2, num_workers=num_workers,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='skip_broken_collate'),
            dataset=dataset),
        test_cfg=dict(),
        test_evaluator=[dict(type='PerClassAccuracy'),
                        dict(type='_RecordPredictions')],
        default_hooks=dict(skipped=dict(type='SkippedSampleHook')),
        log_level='WARNING'))


@pytest.mark.parametrize('num_workers', [0, 2])
def test_broken_test_scans_are_dropped_counted_and_reported(
        tree, tmp_path, num_workers, capsys):
    root, broken = tree
    runner = Runner.from_cfg(_config(root, str(tmp_path), num_workers))
    capsys.readouterr()
    metrics = runner.test()
    out = capsys.readouterr().out
    assert metrics['num_predictions'] == 22
    assert metrics['num_distinct'] == 22
    assert not set(broken) & set(_RecordPredictions.seen)
    assert metrics['fer/num_scored'] == 22
    assert metrics['fer/num_skipped'] == 2
    report = json.loads((tmp_path / 'skipped_samples.json').read_text())
    assert report['num_skipped'] == 2 and report['files'] == sorted(broken)
    assert report['by_phase'] == dict(test=dict(dropped=2, replaced=0))
    assert {r['subject'] for r in report['records']} == {
        osp.basename(p)[:5] for p in broken}
    assert all('BU3DFEDataset' == r['dataset'] for r in report['records'])
    lines = [line for line in out.splitlines()
             if 'WARNING - SkippedSampleHook' in line]
    assert len(lines) == 1
    assert '2 samples skipped because of 2 broken files' in lines[0]
    assert all(p in lines[0] for p in broken)


@pytest.mark.parametrize('loop,policy', [('epoch', True),
                                         ('iter', 'replace')])
def test_training_skips_are_reported(tree, tmp_path, loop, policy):
    root, broken = tree
    cfg = _config(root, str(tmp_path), 0)
    loader = cfg.pop('test_dataloader')
    loader.dataset.update(fold=None, split='train', skip_broken=policy)
    loader.sampler.shuffle = True
    for key in ('test_cfg', 'test_evaluator'):
        cfg.pop(key)
    cfg.update(
        train_dataloader=loader,
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=True, max_epochs=2) if loop == 'epoch' else
        dict(type='IterBasedTrainLoop', max_iters=30),
        randomness=dict(seed=0))
    Runner.from_cfg(cfg).train()
    report = json.loads((tmp_path / 'skipped_samples.json').read_text())
    assert report['files'] == sorted(broken)
    action = 'dropped' if policy is True else 'replaced'
    assert {r['action'] for r in report['records']} == {action}
    if loop == 'epoch':  # each broken scan once per epoch
        assert report['num_skipped'] == 4
        assert sorted(r['epoch'] for r in report['records']) == [0, 0, 1, 1]
    assert report['num_skipped'] >= 2


def test_summary_of_nothing_and_of_repeats(tmp_path):
    hook = SkippedSampleHook(max_listed=1)
    assert hook.summary_line(hook.summary()) == \
        'SkippedSampleHook: no sample was skipped.'
    record = dict(index=0, files=['/d/a.wrl'], error='x', dataset='D',
                  subject='S', action='dropped')
    for epoch in range(3):
        hook.add('val', [record])
    hook.add('train', [dict(record, files=['/d/b.wrl'], action='replaced')])
    report = hook.summary()
    assert report['by_phase'] == dict(val=dict(dropped=3, replaced=0),
                                      train=dict(dropped=0, replaced=1))
    line = hook.summary_line(report)
    assert '4 samples skipped because of 2 broken files' in line
    assert '/d/a.wrl (x3)' in line and 'and 1 more' in line
