# Copyright (c) mmfer4d contributors. All rights reserved.
"""2 processes through ``tools/dist_train.sh`` equal 1 with twice the batch.

The README's recipe, on one machine: ``tools/dist_train.sh`` (torchrun,
``--launcher pytorch``) with ``--cfg-options env_cfg.dist_cfg.backend=gloo``
starts 2 CPU processes of the tiny SMILE-VLM config (``tiny_fer_helpers``:
12 training scans, 32 px) with batch 2 each; they train epoch 1, write
``epoch_1.pth``, stop, and a second launch resumes them (``--resume``) for
epoch 2. One process of ``tools/train.py`` trains the same 2 epochs with
batch 4, and the two end with the same weights to float tolerance.

What equivalence needs, and how this set-up provides it:

- The same global batches. ``DefaultSampler`` shuffles all indices from
  ``seed + epoch`` on every rank and gives rank r every second index from r
  (``indices[r::2]``), so the two batches of 2 of step i hold the samples
  of the single process's batch of 4 of step i (12 samples: no padding).
- Gradients of the global batch. The SMILE-VLM losses gather features with
  gradients from every rank and DDP averages the gradients (the losses'
  parity is also proven in ``tests/test_models/test_utils``).
- No per-rank batch statistics. BatchNorm would normalise each rank's 2
  samples by their own statistics, 4 in one process; torch's
  ``SyncBatchNorm`` runs only on GPUs (and mmcv-lite has no SyncBN op), so
  our configs do not use SyncBN, and here the backbone uses GroupNorm and
  the projector LayerNorm (per sample).
- Deterministic data and text: the test pipeline (no random mirroring,
  warping or rotation) for training, and one prompt per class (each rank
  samples prompts from its own generator, so several phrasings per class
  would give other prompts than one process does).
- An optimizer whose step is proportional to the gradient (SGD). Adam's
  step, ``lr * m / (sqrt(v) + eps)``, turns a gradient element at rounding
  level into a step of up to ``lr`` of either sign.
- Dynamics in which rounding stays rounding. The sums of 2 x 2 samples and
  of 4 round differently (so do one process's sums with 1 and with 2
  threads). The Barlow Twins terms standardise every feature over the 4
  samples of the batch, and where a feature barely varies the division by
  ``sqrt(var + eps)`` makes the gradient steep (``backbone.conv1``'s is
  about 170 at initialisation with ``eps=1e-5``). Measured on 2026-12-02:
  at SGD lr 0.01 a 1e-6 difference grew to 0.14 within 6 steps, and one
  process with ``OMP_NUM_THREADS=1`` against the same process with 2
  threads drifted apart as far (0.138) as 2 processes against 1 (0.145),
  while the first step's gradients of 2 processes and 1 agreed to
  rounding (cosine similarity 1.0000 on every tensor); at lr 1e-4 a jump
  from 1e-6 to 7e-5 in one step still happened. So the test takes lr 1e-4
  and ``eps=1e-3`` in both Barlow Twins losses: the runs then stay within
  1.2e-7 of each other while the second epoch moves the weights by 9e-4.
"""
import json
import os
import os.path as osp
import socket
import subprocess
import sys

import torch

from mmfer4d.utils import safe_load_checkpoint

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, HERE)
from tiny_fer_helpers import (REPO, SMILE_VLM_CONFIG,  # noqa: E402
                              tiny_smile_vlm_options)

TRAIN = osp.join(REPO, 'tools', 'train.py')
DIST_TRAIN = osp.join(REPO, 'tools', 'dist_train.sh')


def _config(tmp_path):
    prompts = tmp_path / 'one_prompt_per_class.json'
    prompts.write_text(
        json.dumps(dict(classes={}, fallback=['a face showing {name}'])))
    path = tmp_path / 'smile-vlm_tiny_gn-ln_deterministic.py'
    path.write_text(
        f'_base_ = [{SMILE_VLM_CONFIG!r}]\n'
        'model = dict(\n'
        '    backbone=dict(norm_cfg=dict(type="GN", num_groups=4,\n'
        '                                requires_grad=True)),\n'
        '    projector=dict(norm="LN"),\n'
        f'    prompt_family={str(prompts)!r},\n'
        '    head=dict(loss_mv=dict(eps=1e-3), loss_cmr=dict(eps=1e-3)))\n'
        'optim_wrapper = dict(optimizer=dict(_delete_=True, type="SGD",\n'
        '                                    lr=1e-4, momentum=0.0,\n'
        '                                    weight_decay=1e-4))\n'
        'train_dataloader = dict(\n'
        '    dataset=dict(pipeline=_base_.test_pipeline))\n'
    )
    return str(path)


def _options(config, batch_size, max_epochs):
    return [
        '--no-validate', '--cfg-options',
        *tiny_smile_vlm_options(config, batch_size=batch_size,
                                max_epochs=max_epochs, validate=False)
    ]


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _run(cmd, cwd, env=None):
    proc = subprocess.run(cmd, cwd=str(cwd), env=env, capture_output=True,
                          text=True, timeout=600)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-5000:]
    return output


def _dist_train(config, work_dir, *extra, max_epochs):
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(_free_port()),
               OMP_NUM_THREADS='1')
    return _run([
        'bash', DIST_TRAIN, config, '2', '--work-dir',
        str(work_dir), *extra,
        *_options(config, 2, max_epochs), 'env_cfg.dist_cfg.backend=gloo'
    ], work_dir.parent, env)


def _train_one_process(config, work_dir, max_epochs):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return _run([
        sys.executable, TRAIN, config, '--work-dir',
        str(work_dir), *_options(config, 4, max_epochs)
    ], work_dir.parent, env)


def _max_abs(a, b):
    """Largest ``|a - b|`` over the floating-point entries of two state
    dicts, with the entry it occurs in."""
    return max((float((a[k] - b[k]).abs().max()), k) for k in a
               if a[k].is_floating_point())


def test_two_processes_equal_one_with_doubled_batch(tmp_path):
    """2 processes x batch 2, interrupted and resumed, equal 1 x batch 4.

    The tolerance, 5e-6, is float rounding over 6 steps (measured: 1.2e-7)
    and under 1% of how far the second epoch moves the weights (about 9e-4,
    asserted below as at least 5e-4). A gradient that lost the other rank's
    terms moves them elsewhere by a sizeable part of that movement: with
    the gather's backward cut to the local piece (every rank then gets only
    its own samples' terms of the feature gradient) the runs differed by
    1.0e-3, 200 times the tolerance (tried on 2026-12-02).
    """
    config = _config(tmp_path)
    two = tmp_path / 'two'
    two.mkdir()
    first = _dist_train(config, two, max_epochs=1)
    # mmengine's environment dump ("GPU number" counts the processes).
    assert 'Distributed training: True' in first, first[-3000:]
    assert 'GPU number: 2' in first
    assert (two / 'epoch_1.pth').is_file()
    assert not (two / 'epoch_2.pth').exists()
    second = _dist_train(config, two, '--resume', max_epochs=2)
    assert 'resumed epoch: 1' in second

    one = tmp_path / 'one'
    one.mkdir()
    single = _train_one_process(config, one, max_epochs=2)
    assert 'Distributed training: False' in single, single[-3000:]

    start = safe_load_checkpoint(str(two / 'epoch_1.pth'), map_location='cpu')
    end = safe_load_checkpoint(str(two / 'epoch_2.pth'), map_location='cpu')
    ref = safe_load_checkpoint(str(one / 'epoch_2.pth'), map_location='cpu')
    # 12 samples, 2 ranks x batch 2 or 1 x batch 4: 3 steps an epoch.
    assert start['meta']['iter'] == 3
    assert end['meta']['iter'] == ref['meta']['iter'] == 6
    assert end['state_dict'].keys() == ref['state_dict'].keys()
    for key, value in end['state_dict'].items():
        if value.is_floating_point():
            assert torch.isfinite(value).all(), key

    initial = safe_load_checkpoint(str(one / 'epoch_1.pth'),
                                   map_location='cpu')
    moved, _ = _max_abs(ref['state_dict'], initial['state_dict'])
    assert moved > 5e-4  # the second epoch trained
    diff, key = _max_abs(end['state_dict'], ref['state_dict'])
    assert diff <= 5e-6, (key, diff, moved)
