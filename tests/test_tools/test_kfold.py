# Copyright (c) mmfer4d contributors. All rights reserved.
"""End-to-end test of tools/kfold.py on the tiny SMILE-VLM config.

The real tiny config (SMILE-VLM on ``SyntheticFER3D``) is shrunk on the
command line (``tiny_fer_helpers.tiny_smile_vlm_options``: 4 subjects, 6
scans each, 32 px); a small derived config only adds the interruption hook
and the FER/MER metrics whose pooling is checked.
"""
import importlib.util
import json
import os
import os.path as osp
import sys

import pytest

HERE = osp.dirname(osp.abspath(__file__))
TOOLS = osp.join(HERE, '..', '..', 'tools')
sys.path.insert(0, HERE)
from tiny_fer_helpers import (SMILE_VLM_CONFIG,  # noqa: E402
                              tiny_smile_vlm_options)


def _load_tool(name):
    spec = importlib.util.spec_from_file_location(
        f'_tool_{name}', osp.join(TOOLS, f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def kfold():
    return _load_tool('kfold')


def _config(tmp_path, flag):
    """The tiny SMILE-VLM config plus an interruption of fold 1."""
    path = tmp_path / 'smile-vlm_tiny_kfold.py'
    path.write_text(
        f'_base_ = [{SMILE_VLM_CONFIG!r}]\n'
        'custom_hooks = [dict(type="SimulatedInterruptHook", '
        f'flag_file={str(flag)!r}, fold=1)]\n'
        'test_evaluator = [dict(type="PerClassAccuracy"), '
        'dict(type="MERMetric")]\n')
    return str(path)


def test_two_folds_interrupted_resumed_and_aggregated(kfold, tmp_path,
                                                      capsys):
    flag = tmp_path / 'interrupt.flag'
    flag.write_text('')
    config = _config(tmp_path, flag)
    work = tmp_path / 'work'
    argv = [
        config, '--num-folds', '2', '--work-dir', str(work), '--no-validate',
        '--cfg-options', *tiny_smile_vlm_options(
            config, max_epochs=2, validate=False)
    ]
    # First run: fold 0 completes, fold 1 is killed after its first epoch.
    with pytest.raises(RuntimeError, match='simulated interruption'):
        kfold.main(argv)
    fold0, fold1 = work / 'seed0' / 'fold0', work / 'seed0' / 'fold1'
    assert (fold0 / 'metrics.json').is_file()
    assert (fold0 / 'predictions.pkl').is_file()
    assert not (fold1 / 'metrics.json').exists()
    assert (fold1 / 'epoch_1.pth').is_file()
    assert not (fold1 / 'epoch_2.pth').exists()
    done_mtime = os.path.getmtime(fold0 / 'metrics.json')
    epoch1_mtime = os.path.getmtime(fold1 / 'epoch_1.pth')
    capsys.readouterr()

    # Second run: fold 0 is skipped, fold 1 resumes at epoch 2.
    summary = kfold.main(argv)
    out = capsys.readouterr().out
    assert 'seed 0 fold 0: done, skipped' in out
    assert 'seed 0 fold 1: resuming' in out
    assert os.path.getmtime(fold0 / 'metrics.json') == done_mtime
    assert (fold1 / 'epoch_2.pth').is_file()
    # Resumed, not retrained: epoch 1 was not saved again.
    assert os.path.getmtime(fold1 / 'epoch_1.pth') == epoch1_mtime
    assert (fold1 / 'metrics.json').is_file()

    # Aggregate: mean over the 2 folds, pooled MER metrics, tables.
    agg = summary['aggregate']['fer/top1']
    folds = [summary['folds']['0'][k]['fer/top1'] for k in ('0', '1')]
    assert agg['n'] == 2
    assert agg['mean'] == pytest.approx(sum(folds) / 2)
    assert 'mer/UF1' in summary['pooled']['0']
    # Pooled accuracy equals the sample-weighted mean of the fold accuracies
    # (2 subjects x 6 scans per fold: equal weights here).
    assert summary['pooled']['0']['fer/top1'] == pytest.approx(agg['mean'])
    protocol = summary['protocol']
    assert (protocol['subjects'], protocol['folds'], protocol['classes'],
            protocol['num_samples'], protocol['dataset']) == \
        (4, 2, 6, 24, 'SyntheticFER3D')
    assert summary['leaderboard']['accuracy']['value'] == \
        pytest.approx(agg['mean'])
    assert '| fer/top1 |' in out
    saved = json.loads((work / 'summary.json').read_text())
    assert saved['aggregate']['fer/top1']['mean'] == pytest.approx(
        agg['mean'])
    assert (work / 'summary.md').read_text().startswith('## ')


def test_set_fold_on_wrapped_datasets():
    from mmengine.config import Config

    from mmfer4d.apis import set_fold
    cfg = Config(
        dict(
            train_dataloader=dict(dataset=dict(
                type='RepeatDataset', times=2, dataset=dict(type='A'))),
            val_dataloader=dict(dataset=dict(
                type='ConcatDataset',
                datasets=[dict(type='A'), dict(type='B')])),
            test_dataloader=dict(dataset=dict(type='A')),
            test_evaluator=dict(type='Accuracy')))
    set_fold(cfg, 3, 'loso', 7, 'p.pkl')
    assert cfg.train_dataloader.dataset.dataset.split == 'train'
    assert cfg.train_dataloader.dataset.dataset.fold == 3
    assert [d.split for d in cfg.val_dataloader.dataset.datasets] == \
        ['test', 'test']
    assert cfg.test_dataloader.dataset.num_folds == 'loso'
    assert cfg.test_dataloader.dataset.seed == 7
    assert cfg.randomness.seed == 7
    assert cfg.test_evaluator[-1]['type'] == 'DumpResults'
