# Copyright (c) mmfer4d contributors. All rights reserved.
"""Exact resume: ``kill -9`` mid-epoch, ``--resume``, same weights.

The real tiny SMILE-VLM config (``tiny_fer_helpers``: 2 training subjects,
12 scans, 32 px, batches of 4, so 3 iterations per epoch) trains 3 epochs
through ``tools/train.py`` with one persistent data-loader worker (random
mesh mirroring and warping run there), prompt sampling in the model, and
validation after every epoch. A second run of the same command is parked in
the middle of epoch 2 (after ``epoch_1.pth``) by ``WaitForKillHook``,
killed with ``SIGKILL`` and resumed with ``--resume``. The final model
state dicts (weights, buffers and the prompt generator's extra state) must
be equal bit for bit (``torch.equal``) to the uninterrupted run's, and so
must the optimizer state.
"""
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch

from mmfer4d.utils import safe_load_checkpoint

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(osp.dirname(HERE), 'test_tools'))
from tiny_fer_helpers import (REPO, SMILE_VLM_CONFIG,  # noqa: E402
                              tiny_smile_vlm_options)

TRAIN = osp.join(REPO, 'tools', 'train.py')
EPOCHS = 3


def _env():
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        p for p in (HERE, REPO, env.get('PYTHONPATH')) if p)
    return env


def _options(num_workers):
    return [
        '--cfg-options',
        *tiny_smile_vlm_options(max_epochs=EPOCHS),
        'train_cfg.val_interval=1',
        f'train_dataloader.num_workers={num_workers}',
        f'train_dataloader.persistent_workers={num_workers > 0}',
    ]


def _train(config, work_dir, *extra, num_workers):
    proc = subprocess.run(
        [sys.executable, TRAIN, config, '--work-dir',
         str(work_dir), *extra, *_options(num_workers)],
        cwd=str(work_dir.parent), env=_env(), capture_output=True,
        text=True, timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    return output


def _kill_mid_epoch_2(tmp_path, work_dir, num_workers):
    """Start the run, wait until it parks in epoch 2, ``kill -9`` it."""
    ready = tmp_path / 'parked'
    config = tmp_path / 'smile-vlm_tiny_park.py'
    config.write_text(
        f'_base_ = [{SMILE_VLM_CONFIG!r}]\n'
        "custom_imports = dict(imports=['mmfer4d', 'kill_helpers'], "
        'allow_failed_imports=False)\n'
        'custom_hooks = [dict(type="WaitForKillHook", '
        f'ready_file={str(ready)!r}, epoch=2, iter_in_epoch=1)]\n')
    log = open(tmp_path / 'killed_run.log', 'w')
    proc = subprocess.Popen(
        [sys.executable, TRAIN, str(config), '--work-dir',
         str(work_dir), *_options(num_workers)],
        cwd=str(tmp_path), env=_env(), stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    try:
        while not ready.exists():
            assert proc.poll() is None, (
                'the run ended before it was killed:\n' +
                (tmp_path / 'killed_run.log').read_text()[-4000:])
            assert time.monotonic() < deadline, 'the run never parked'
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=60) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    # Killed after the epoch-1 checkpoint, before the epoch-2 one.
    assert (work_dir / 'epoch_1.pth').is_file()
    assert not (work_dir / 'epoch_2.pth').exists()


def _assert_same_tensors(a, b, where):
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor), where
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert torch.equal(a, b), \
            f'{where}: max abs diff {(a.double() - b.double()).abs().max()}'
    elif isinstance(a, dict):
        assert set(a) == set(b), where
        for key in a:
            _assert_same_tensors(a[key], b[key], f'{where}.{key}')
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same_tensors(x, y, f'{where}[{i}]')
    else:
        assert a == b, where


@pytest.mark.parametrize('num_workers', [1])
def test_kill_and_resume_gives_the_uninterrupted_weights(
        tmp_path, num_workers):
    straight = tmp_path / 'straight'
    resumed = tmp_path / 'resumed'
    straight.mkdir()
    resumed.mkdir()
    _train(SMILE_VLM_CONFIG, straight, num_workers=num_workers)

    _kill_mid_epoch_2(tmp_path, resumed, num_workers)
    output = _train(SMILE_VLM_CONFIG, resumed, '--resume',
                    num_workers=num_workers)
    assert 'resumed epoch: 1' in output

    final = f'epoch_{EPOCHS}.pth'
    a = safe_load_checkpoint(str(straight / final), map_location='cpu')
    b = safe_load_checkpoint(str(resumed / final), map_location='cpu')
    assert a['meta']['iter'] == b['meta']['iter']
    assert any(k.endswith('_extra_state') for k in a['state_dict'])
    _assert_same_tensors(a['state_dict'], b['state_dict'], 'state_dict')
    _assert_same_tensors(a['optimizer'], b['optimizer'], 'optimizer')
