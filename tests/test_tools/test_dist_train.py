# Copyright (c) mmfer4d contributors. All rights reserved.
"""Two processes through ``tools/dist_train.sh`` equal one with the doubled
batch.

The README's recipe, on one machine: ``tools/dist_train.sh`` (torchrun,
``--launcher pytorch``) with ``--cfg-options env_cfg.dist_cfg.backend=gloo``
starts 2 CPU processes of the tiny SMILE-VLM config (``tiny_fer_helpers``:
12 training scans, 32 px) with batch 2 each; they train epoch 1, write
``epoch_1.pth``, stop, and a second launch resumes them (``--resume``) for
epoch 2. One process of ``tools/train.py`` trains the same 2 epochs with
batch 4. The final weights agree to float tolerance.

What equivalence needs, and how this test provides it:

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
- An optimizer whose step is proportional to the gradient (SGD). The sums
  of 2 x 2 samples and of 4 round differently, and Adam's step,
  ``lr * m / (sqrt(v) + eps)``, turns a gradient element at rounding level
  (here one element of 32,768 in the projector, ``-6e-8``) into a step of
  up to ``lr`` of either sign: with the tiny config's AdamW the two runs
  logged the same losses to 4 decimals but that element differed by
  1.2e-3 after one epoch.
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
        f'    prompt_family={str(prompts)!r})\n'
        'optim_wrapper = dict(optimizer=dict(_delete_=True, type="SGD",\n'
        '                                    lr=0.05, momentum=0.9,\n'
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


def test_two_processes_equal_one_with_the_doubled_batch(tmp_path):
    config = _config(tmp_path)
    single, two = tmp_path / 'single', tmp_path / 'two'
    single.mkdir()
    two.mkdir()
    _run([sys.executable, TRAIN, config, '--work-dir',
          str(single), *_options(config, 4, 2)], tmp_path)

    first = _dist_train(config, two, max_epochs=1)
    # mmengine's environment dump ("GPU number" counts the processes).
    assert 'Distributed training: True' in first, first[-3000:]
    assert 'GPU number: 2' in first
    assert (two / 'epoch_1.pth').is_file()
    assert not (two / 'epoch_2.pth').exists()
    second = _dist_train(config, two, '--resume', max_epochs=2)
    assert 'resumed epoch: 1' in second

    a = safe_load_checkpoint(str(single / 'epoch_2.pth'), map_location='cpu')
    b = safe_load_checkpoint(str(two / 'epoch_2.pth'), map_location='cpu')
    start = safe_load_checkpoint(
        str(single / 'epoch_1.pth'), map_location='cpu')
    assert a['meta']['iter'] == b['meta']['iter'] == 6
    moved = 0.0
    assert set(a['state_dict']) == set(b['state_dict'])
    for key, value in a['state_dict'].items():
        other = b['state_dict'][key]
        if key.endswith('_extra_state'):
            # The prompt generator: each rank drew 2 numbers a step, the
            # single process 4 (with one prompt per class they pick the
            # same prompts).
            continue
        if not value.is_floating_point():
            assert torch.equal(value, other), key
            continue
        torch.testing.assert_close(other, value, rtol=1e-4, atol=1e-5,
                                   msg=lambda m, k=key: f'{k}: {m}')
        moved = max(moved, (value - start['state_dict'][key]).abs().max())
    # The last epoch changed the weights far beyond the tolerance.
    assert moved > 1e-3
