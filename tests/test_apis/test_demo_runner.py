# Copyright (c) mmfer4d contributors. All rights reserved.
"""mmfer4d/apis/demo/runner.py: reuse of finished runs, results.json, the
table, without training (finished runs are written by hand as the Runner
leaves them: ``metrics.json`` and ``wall_time.json`` per run directory)."""
import json
import math
import os
import os.path as osp

import pytest
import torch

from mmfer4d.apis.demo import (DemoOptions, build_run_cfg, collect_records,
                               run_demo, runner)

CLASSES = ['anger', 'disgust', 'fear', 'happiness', 'sadness', 'surprise']


def finish(work_dir, name, top1, wall_s=90.0):
    """A run directory as a finished demo run leaves it."""
    run_dir = osp.join(work_dir, name)
    metrics = {'fer/top1': top1, 'fer/mean_class_acc': top1,
               'fer/classes': CLASSES,
               'fer/confusion_matrix': [[1] * 6 for _ in range(6)]}
    os.makedirs(run_dir)
    with open(osp.join(run_dir, 'metrics.json'), 'w') as f:
        json.dump(metrics, f)
    if wall_s is not None:
        with open(osp.join(run_dir, 'wall_time.json'), 'w') as f:
            json.dump(dict(wall_s=wall_s), f)


@pytest.fixture
def no_training(monkeypatch):
    def refuse(cfg, run_dir, quiet=False):
        raise AssertionError(f'trained {run_dir}')

    monkeypatch.setattr(runner, 'run_fold', refuse)


def options(work_dir, *what):
    return DemoOptions(what=list(what), work_dir=str(work_dir), reuse=True,
                       no_pictures=True, num_subjects=10, threads=1)


def test_reuse_reads_finished_runs_and_prints_the_table(
        tmp_path, no_training, capsys):
    finish(tmp_path, 'mv-ce', 75.0, wall_s=120.0)
    finish(tmp_path, 'smile-vlm-4d', 50.0, wall_s=None)
    records = run_demo(options(tmp_path, 'baseline', '4d'))
    assert set(records) == {'mv-ce', 'smile-vlm-4d'}
    assert records['mv-ce']['wall_s'] == {'0': 120.0}
    # No checkpoint in the run directory: no view weights to read.
    assert records['mv-ce']['view_weights'] == {}
    out = capsys.readouterr().out
    assert ('| Multi-view CE baseline | full (labels) | classifier | '
            'SyntheticFER3D, int. 3-4 | 10 subj., fold 0/5 | 75.00 | 75.00 |'
            '  | 40 | 2.0 |') in out
    # A run without its wall time prints '-'.
    assert ('| SMILE-VLM 4D | weak (label prompts) | zero-shot | '
            'SyntheticFER4D, int. 3-4 | 10 subj., fold 0/5 | 50.00 | 50.00 |'
            '  | 40 | - |') in out
    # The ranked rows go through the synthetic leaderboard (mv-ce only).
    assert '| **Multi-view CE baseline (classifier) (ours)** |' in out
    assert osp.isfile(tmp_path / 'mv-ce' / 'RESULTS.json')
    assert not osp.exists(tmp_path / 'smile-vlm-4d' / 'RESULTS.json')
    table = open(tmp_path / 'leaderboard.md').read()
    assert table.strip() in out
    results = json.load(open(tmp_path / 'results.json'))
    assert results['benchmark'] == 'synthetic'
    assert results['invocations'][-1]['what'] == ['baseline', '4d']


def test_later_invocations_keep_earlier_rows(tmp_path, no_training):
    finish(tmp_path, 'mv-ce', 75.0)
    finish(tmp_path, 'smile-vlm-4d', 50.0)
    run_demo(options(tmp_path, 'baseline'))
    records = run_demo(options(tmp_path, '4d'))
    assert set(records) == {'mv-ce', 'smile-vlm-4d'}
    assert set(collect_records(str(tmp_path))) == {'mv-ce', 'smile-vlm-4d'}
    assert len(json.load(open(tmp_path / 'results.json'))['invocations']) \
        == 2
    table = open(tmp_path / 'leaderboard.md').read()
    assert 'Multi-view CE baseline' in table and 'SMILE-VLM 4D' in table


def test_unfinished_run_is_trained(tmp_path, no_training):
    # No metrics.json: reuse cannot apply, the run is trained.
    with pytest.raises(AssertionError, match='trained .*mv-ce'):
        run_demo(options(tmp_path, 'baseline'))


def test_a_probe_needs_its_pretrained_run(tmp_path, no_training):
    finish(tmp_path, 'smile-vlm-linear', 90.0)
    # smile-vlm saved no checkpoint: the probe has nothing to start from.
    with pytest.raises(FileNotFoundError, match='smile-vlm'):
        runner.run_one('smile-vlm-linear', options(tmp_path, 'main'),
                       str(tmp_path), [0], 5)


def test_view_weights_are_the_model_helpers(tmp_path):
    """The final checkpoint's learnt view weights, read through the model
    (the helper tools/analysis_tools/view_weights.py uses)."""
    from mmengine.registry import init_default_scope

    from mmfer4d.models.utils import build_model_from_cfg
    init_default_scope('mmfer4d')
    run_dir = str(tmp_path / 'mv-ce')
    cfg, _ = build_run_cfg('mv-ce', DemoOptions(), 0, 5, run_dir)
    model = build_model_from_cfg(cfg)
    with torch.no_grad():
        model.view_fusion.view_logits.copy_(
            torch.tensor([0.0, math.log(2.0), math.log(5.0)]))
    os.makedirs(run_dir)
    ckpt = osp.join(run_dir, 'epoch_1.pth')
    torch.save(dict(meta={}, state_dict=model.state_dict()), ckpt)
    with open(osp.join(run_dir, 'last_checkpoint'), 'w') as f:
        f.write(ckpt)
    weights = runner.read_view_weights(cfg, run_dir)
    assert list(weights) == ['front', 'left', 'right']
    assert [weights[k] for k in weights] == pytest.approx(
        [1 / 8, 2 / 8, 5 / 8])
