# Copyright (c) mmfer4d contributors. All rights reserved.
"""What ``tools/train.py`` prints before the first iteration.

mmengine prints, before a tiny SMILE-VLM run's first iteration, the
environment, the whole config (300+ lines), the hook order (140 lines),
one warning per frozen tensor of the text tower (``... is skipped since
its requires_grad=False``), one ``paramwise_options`` line per tensor and
option, and for a probe started from a pre-training checkpoint every
unexpected key. These runs count the console lines of the real tiny
configs and check that each of those is one line now (the full config and
hooks still go to the log file).
"""
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, HERE)
from tiny_fer_helpers import (REPO, SMILE_VLM_CONFIG,  # noqa: E402
                              tiny_smile_vlm_options)

PROBE_CONFIG = osp.join(
    REPO, 'configs', 'smile_vlm',
    'smile-vlm-linear_resnet18-w16_smile-vlm-pre_1xb32-20e_synthetic-'
    'fer3d-3view.py')
MAX_LINES = 80


def _train(config, work_dir, *options):
    proc = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'train.py'), config,
         '--work-dir', str(work_dir), '--cfg-options',
         *tiny_smile_vlm_options(config, validate=False),
         'train_cfg.val_interval=100', *options],
        cwd=str(work_dir.parent), capture_output=True, text=True,
        timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    lines = (proc.stdout + proc.stderr).splitlines()
    first = next(i for i, line in enumerate(lines) if 'Epoch(train)' in line)
    return lines[:first], proc.stdout


def _common(head, work_dir):
    text = '\n'.join(head)
    assert len(head) < MAX_LINES, text
    assert 'requires_grad=False' not in text
    assert 'paramwise_options --' not in text
    # The environment stays on the console, the config goes to the file.
    assert 'System environment:' in text
    assert 'Hooks will be executed' not in text
    assert sum('Config (' in line and '--verbose' in line
               for line in head) == 1
    log_file, = work_dir.glob('*/*.log')
    log = log_file.read_text()
    assert 'Hooks will be executed in the following order' in log
    assert 'Config:\n' in log
    return text


@pytest.fixture(scope='module')
def pretrain_checkpoint(tmp_path_factory):
    """The randomly initialised tiny SMILE-VLM, saved as a checkpoint."""
    from mmengine.registry import init_default_scope

    from mmfer4d.models.utils import build_model_from_cfg
    init_default_scope('mmfer4d')
    torch.manual_seed(0)
    model = build_model_from_cfg(Config.fromfile(SMILE_VLM_CONFIG))
    path = tmp_path_factory.mktemp('pre') / 'epoch_1.pth'
    torch.save(dict(state_dict=model.state_dict()), path)
    return str(path), model


def test_pretraining_run(tmp_path, pretrain_checkpoint):
    _, model = pretrain_checkpoint
    work_dir = tmp_path / 'pre'
    head, _ = _train(SMILE_VLM_CONFIG, work_dir)
    text = _common(head, work_dir)
    frozen = [p for p in model.parameters() if not p.requires_grad]
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert len(frozen) > 20  # the text tower
    line, = [x for x in head if 'optimizer AdamW:' in x]
    assert f'{len(trainable)} tensors ' in line
    assert f'{len(frozen)} frozen tensors' in line and 'left out' in line
    assert 'paramwise options: weight_decay=0.0 x ' in line
    assert 'Pretrained:' not in text


def test_linear_probe_run(tmp_path, pretrain_checkpoint):
    checkpoint, model = pretrain_checkpoint
    work_dir = tmp_path / 'probe'
    head, _ = _train(PROBE_CONFIG, work_dir,
                     f'model.init_cfg.checkpoint={checkpoint}')
    text = _common(head, work_dir)
    # Only the linear head trains: weight and bias.
    line, = [x for x in head if 'optimizer AdamW:' in x]
    assert 'optimizer AdamW: 2 tensors ' in line
    # The probe's expected key differences: one line.
    assert 'unexpected key' not in text and 'missing keys' not in text
    line, = [x for x in head if 'Pretrained:' in x]
    text_keys = sum(k.startswith('text_encoder.')
                    for k in model.state_dict())
    assert f'text_encoder.* {text_keys}' in line
    assert '2 missing, kept as initialised (head.* 2)' in line
    assert checkpoint in line
