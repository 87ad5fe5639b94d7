# Copyright (c) mmfer4d contributors. All rights reserved.
"""End-to-end tests of tools/kfold.py on the tiny SMILE-VLM configs.

The real tiny configs (SMILE-VLM pre-training and its linear probe on
``SyntheticFER3D``) are shrunk on the command line
(``tiny_fer_helpers.tiny_smile_vlm_options``: 4 subjects in 2 folds, 6
scans each, 32 px); a small derived config only adds the interruption hook
and the FER/MER metrics whose pooling is checked.
"""
import glob
import importlib.util
import json
import os
import os.path as osp
import sys

import pytest
import torch

HERE = osp.dirname(osp.abspath(__file__))
TOOLS = osp.join(HERE, '..', '..', 'tools')
sys.path.insert(0, HERE)
from tiny_fer_helpers import (REPO, SMILE_VLM_CONFIG,  # noqa: E402
                              tiny_smile_vlm_options)

PROBE_CONFIG = osp.join(
    REPO, 'configs', 'smile_vlm',
    'smile-vlm-linear_resnet18-w16_smile-vlm-pre_1xb32-20e_synthetic-fer3d-'
    '3view.py')


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


def _section(lines, start, end=None):
    """Lines from the first containing ``start`` to the first after it
    containing ``end`` (or the end)."""
    i = next(n for n, line in enumerate(lines) if start in line)
    j = next((n for n in range(i + 1, len(lines))
              if end is not None and end in lines[n]), len(lines))
    return lines[i:j]


def test_two_folds_interrupted_resumed_and_aggregated(kfold, tmp_path,
                                                      capsys):
    flag = tmp_path / 'interrupt.flag'
    flag.write_text('')
    config = _config(tmp_path, flag)
    work = tmp_path / 'work'
    # No --num-folds: the protocol is the config's (num_folds=2 here).
    argv = [
        config, '--work-dir', str(work), '--no-validate', '--cfg-options',
        *tiny_smile_vlm_options(config, max_epochs=2, validate=False)
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

    # The log of that 2-fold run: the Runner's environment, config and
    # hook list once, for the first fold only; one line per fold with the
    # overall ETA.
    lines = capsys.readouterr().out.splitlines()
    assert any("(from the config's data sets (num_folds=2))" in line
               for line in lines)
    assert sum('System environment:' in line for line in lines) == 1
    assert sum(line.endswith(' - Config:') for line in lines) == 1
    assert sum('Hooks will be executed' in line for line in lines) == 1
    first = _section(lines, '] fold 1 of 2, seed 0: training',
                     '] fold 2 of 2, seed 0')
    second = _section(lines, '] fold 2 of 2, seed 0: training')
    assert 'ETA of the whole run unknown' in first[0]
    assert 'run 2 of 2; ETA of the whole run 0:' in second[0]
    # Before its first training iteration fold 1 printed the banner,
    # fold 2 did not: at least the whole config dump fewer lines (the rest,
    # optimizer lines of train(), is the same for both).
    iteration = ' - Epoch(train) [1]['
    before_first = _section(first, 'fold 1 of 2', iteration)
    before_second = _section(second, 'fold 2 of 2', iteration)
    from mmengine.config import Config
    config_lines = len(Config.fromfile(config).pretty_text.splitlines())
    assert config_lines > 100
    assert len(before_second) <= len(before_first) - config_lines
    assert not any('PyTorch:' in line or 'CUDA available' in line
                   for line in before_second)
    # Every fold's log file still holds the environment and the config.
    for fold_dir in (fold0, fold1):
        log = open(glob.glob(str(fold_dir / '*' / '*.log'))[0]).read()
        assert 'System environment:' in log and 'Config:' in log

    # Second run: fold 0 is skipped, fold 1 resumes at epoch 2.
    summary = kfold.main(argv)
    out = capsys.readouterr().out
    assert 'fold 1 of 2, seed 0: done, skipped' in out
    assert 'fold 2 of 2, seed 0: resuming' in out
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
    assert summary['leaderboard']['uf1']['value'] == pytest.approx(
        summary['pooled']['0']['mer/UF1'])
    assert '| fer/top1 |' in out
    saved = json.loads((work / 'summary.json').read_text())
    assert saved['aggregate']['fer/top1']['mean'] == pytest.approx(
        agg['mean'])
    assert (work / 'summary.md').read_text().startswith('## ')


def _conv_weights(path):
    from mmengine.runner.checkpoint import _load_checkpoint
    state = _load_checkpoint(path, map_location='cpu')
    state = state.get('state_dict', state)
    return {k: v for k, v in state.items() if v.ndim == 4}


def _subjects(config, field, fold):
    """The subjects of one split of the tiny protocol (4 subjects, 2
    folds, seed 0), built from the config by hand, not by the code under
    test."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mmfer4d.registry import DATASETS
    init_default_scope('mmfer4d')
    ds = dict(Config.fromfile(config)[field].dataset)
    ds.update(fold=fold, num_folds=2, seed=0, pipeline=[], num_subjects=4,
              split='train' if field == 'train_dataloader' else 'test')
    return {d['subject'] for d in DATASETS.build(ds).data_list}


def test_probe_of_each_fold_starts_from_that_folds_pretraining(
        kfold, tmp_path, capsys):
    work = tmp_path / 'work'
    pre_options = tiny_smile_vlm_options(SMILE_VLM_CONFIG, validate=False)
    probe_options = tiny_smile_vlm_options(PROBE_CONFIG, validate=False)
    summary = kfold.main([
        PROBE_CONFIG, '--pretrain-config', SMILE_VLM_CONFIG, '--work-dir',
        str(work), '--no-validate', '--cfg-options', *probe_options,
        '--pretrain-cfg-options', *pre_options
    ])
    out = capsys.readouterr().out
    assert 'its checkpoint into model.init_cfg.checkpoint' in out
    weights = {}
    for fold in (0, 1):
        fold_dir = work / 'seed0' / f'fold{fold}'
        record = json.loads(
            (fold_dir / 'pretrain' / 'pretrained.json').read_text())
        ckpt = str(fold_dir / 'pretrain' / record['checkpoint'])
        assert summary['pretrained_checkpoints']['0'][str(fold)] == ckpt
        # The probe loaded this fold's checkpoint, not the other fold's.
        log = open(glob.glob(str(fold_dir / '*' / '*.log'))[0]).read()
        assert f'(parameters and buffers) from {ckpt};' in log
        other = str(work / 'seed0' / f'fold{1 - fold}' / 'pretrain')
        assert other not in log
        # The pre-training trained on the fold's training subjects only,
        # none of which the probe tests.
        trained = _subjects(SMILE_VLM_CONFIG, 'train_dataloader', fold)
        tested = _subjects(PROBE_CONFIG, 'test_dataloader', fold)
        assert {s for _, s in record['subjects']} == trained
        assert len(trained) == 2 and len(tested) == 2
        assert not trained & tested
        weights[fold] = (_conv_weights(ckpt),
                         _conv_weights(str(fold_dir / 'epoch_1.pth')))
    # Linear probe: the probe's frozen convolutions are fold k's
    # pre-trained ones, which differ between the folds.
    for fold in (0, 1):
        pre, probe = weights[fold]
        other = weights[1 - fold][0]
        shared = [k for k in probe if k in pre]
        assert len(shared) > 10
        assert all(torch.equal(probe[k], pre[k]) for k in shared)
        assert not all(torch.equal(probe[k], other[k]) for k in shared)
    assert summary['leaderboard']['accuracy']['value'] >= 0.0


def test_refuses_a_pretraining_that_saw_the_test_subjects(kfold, tmp_path):
    from mmfer4d.apis import PretrainLeakError, run_kfold
    work = tmp_path / 'work'
    args = kfold.parse_args([
        PROBE_CONFIG, '--no-validate', '--cfg-options',
        *tiny_smile_vlm_options(PROBE_CONFIG, validate=False)
    ])

    # A "finished" pre-training of fold 0 that trained on every subject.
    pre_dir = work / 'seed0' / 'fold0' / 'pretrain'
    pre_dir.mkdir(parents=True)
    (pre_dir / 'epoch_1.pth').write_bytes(b'')
    subjects = [['SyntheticFER3D', s]
                for s in _subjects(PROBE_CONFIG, 'test_dataloader', None)]
    (pre_dir / 'pretrained.json').write_text(json.dumps(dict(
        checkpoint='epoch_1.pth', subjects=subjects, fold=0, num_folds=2,
        seed=0)))
    with pytest.raises(PretrainLeakError, match='seed 0 fold 0: the probe '
                       'would test 2 subject'):
        run_kfold(PROBE_CONFIG, str(work), make_cfg=kfold._make_cfg(args),
                  pretrain_config=SMILE_VLM_CONFIG, log=lambda line: None)
    assert not (work / 'seed0' / 'fold0' / 'metrics.json').exists()


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


def test_warns_when_one_checkpoint_serves_every_fold(kfold, tmp_path):
    from mmfer4d.apis import run_kfold
    args = kfold.parse_args([
        PROBE_CONFIG, '--no-validate', '--cfg-options',
        *tiny_smile_vlm_options(PROBE_CONFIG, validate=False)
    ])
    lines = []
    summary = run_kfold(PROBE_CONFIG, str(tmp_path), kfold._make_cfg(args),
                        summary_only=True, log=lines.append)
    assert any('loads one fixed checkpoint in every fold '
               '(model.init_cfg.checkpoint)' in line for line in lines)
    assert summary['folds'] == {'0': {}} and summary['pretrain_config'] is None
