# Copyright (c) mmfer4d contributors. All rights reserved.
"""Two processes through ``tools/dist_train.sh``: train, checkpoint, resume.

What equality with one process and the doubled batch would need is set out
below; the test does not assert it yet (see the test's docstring).

The README's recipe, on one machine: ``tools/dist_train.sh`` (torchrun,
``--launcher pytorch``) with ``--cfg-options env_cfg.dist_cfg.backend=gloo``
starts 2 CPU processes of the tiny SMILE-VLM config (``tiny_fer_helpers``:
12 training scans, 32 px) with batch 2 each; they train epoch 1, write
``epoch_1.pth``, stop, and a second launch resumes them (``--resume``) for
epoch 2. The aim, one process of ``tools/train.py`` training the same 2
epochs with batch 4 to the same weights, is not met yet.

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
        '                                    lr=0.01, momentum=0.0,\n'
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


def test_two_processes_train_checkpoint_and_resume(tmp_path):
    """Two CPU processes through the README's recipe train, save, resume.

    The equality with one process and the doubled batch that the module
    docstring sets out is NOT asserted: on this set-up (SGD, lr 0.01, no
    momentum) the two-process weights after 6 steps differed from the
    single process's by up to 0.016 on 99% of ``backbone.conv1`` (not a
    constant 1 / W scale of the gradient: halving or doubling the
    two-process learning rate did not close the gap). Until that is found,
    this test checks what the launcher guarantees.
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

    start = safe_load_checkpoint(str(two / 'epoch_1.pth'), map_location='cpu')
    end = safe_load_checkpoint(str(two / 'epoch_2.pth'), map_location='cpu')
    # 12 samples, 2 ranks x batch 2: 3 steps an epoch.
    assert start['meta']['iter'] == 3 and end['meta']['iter'] == 6
    moved = 0.0
    for key, value in end['state_dict'].items():
        if value.is_floating_point():
            assert torch.isfinite(value).all(), key
            moved = max(moved, float(
                (value - start['state_dict'][key]).abs().max()))
    # The resumed epoch trained: the weights moved beyond rounding.
    assert moved > 1e-3
