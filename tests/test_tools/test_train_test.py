# Copyright (c) mmfer4d contributors. All rights reserved.
"""Tests of ``tools/train.py`` and ``tools/test.py``.

A tiny config trains one epoch through our ``tools/train.py``; its
checkpoint is tested through our ``tools/test.py`` and through mmpretrain's
own ``tools/test.py`` (which imports mmfer4d through ``custom_imports``), and
training resumes from it. Each run is a subprocess of the same Python, as a
user would run it; the flag handling is tested in-process.
"""
import importlib.util
import json
import os.path as osp
import subprocess
import sys

import mmpretrain
import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'tests', 'data', 'configs',
                  'resnet-tiny_1xb4-1e_png-folders.py')
MMPRETRAIN_TOOLS = osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'tools')


def load_tool(name):
    """Import ``tools/{name}.py`` as a module."""
    spec = importlib.util.spec_from_file_location(
        f'mmfer4d_tools_{name}', osp.join(REPO, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(script, *args, cwd):
    """Run a tool with this interpreter; fail with its output on error."""
    proc = subprocess.run([sys.executable, script, *args],
                          cwd=cwd,
                          capture_output=True,
                          text=True,
                          timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f'{script} failed:\n{output[-3000:]}'
    return output


@pytest.fixture(scope='module')
def png_folders(tmp_path_factory):
    """Two classes of four random 32 px RGB images, in class folders."""
    root = tmp_path_factory.mktemp('pngs')
    rng = np.random.default_rng(0)
    for label in ('calm', 'smile'):
        (root / label).mkdir()
        for i in range(4):
            pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / label / f'{i}.png')
    return str(root)


def data_options(root):
    return [
        '--cfg-options',
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
    ]


@pytest.fixture(scope='module')
def trained(png_folders, tmp_path_factory):
    """Work dir after ``tools/train.py`` ran the tiny config for 1 epoch."""
    work_dir = tmp_path_factory.mktemp('train')
    run(osp.join(REPO, 'tools', 'train.py'),
        CONFIG,
        '--work-dir',
        str(work_dir),
        *data_options(png_folders),
        cwd=str(work_dir))
    return work_dir


def test_train_writes_a_checkpoint_in_our_scope(trained):
    assert (trained / 'epoch_1.pth').is_file()
    dumped = Config.fromfile(
        str(trained / 'resnet-tiny_1xb4-1e_png-folders.py'))
    assert dumped.default_scope == 'mmfer4d'
    assert dumped.custom_imports.imports == ['mmfer4d']


@pytest.mark.parametrize('tools_dir', [osp.join(REPO, 'tools'),
                                       MMPRETRAIN_TOOLS],
                         ids=['ours', 'mmpretrain'])
def test_test_from_checkpoint(tools_dir, trained, png_folders, tmp_path):
    out = tmp_path / 'metrics.json'
    output = run(osp.join(tools_dir, 'test.py'),
                 CONFIG,
                 str(trained / 'epoch_1.pth'),
                 '--work-dir',
                 str(tmp_path),
                 '--out',
                 str(out),
                 '--out-item',
                 'metrics',
                 *data_options(png_folders),
                 cwd=str(tmp_path))
    assert 'Load checkpoint from' in output
    metrics = json.loads(out.read_text())
    assert 0.0 <= metrics['accuracy/top1'] <= 100.0


def test_resume_from_checkpoint(trained, png_folders, tmp_path):
    output = run(osp.join(REPO, 'tools', 'train.py'),
                 CONFIG,
                 '--work-dir',
                 str(tmp_path),
                 '--resume',
                 str(trained / 'epoch_1.pth'),
                 *data_options(png_folders),
                 'train_cfg.max_epochs=2',
                 cwd=str(tmp_path))
    assert 'resumed epoch: 1, iter: 2' in output
    assert 'Epoch(train) [2][2/2]' in output
    assert 'Epoch(train) [1]' not in output
    assert (tmp_path / 'epoch_2.pth').is_file()


def test_train_merge_args():
    train = load_tool('train')
    cfg = Config.fromfile(CONFIG)
    args = train.parse_args([
        CONFIG, '--resume', '--amp', '--no-validate', '--auto-scale-lr',
        '--cfg-options', 'train_dataloader.num_workers=2'
    ])
    cfg = train.merge_args(cfg, args)
    assert cfg.resume is True and cfg.load_from is None
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    assert cfg.val_dataloader is None and cfg.val_cfg is None
    assert cfg.auto_scale_lr.enable is True
    assert cfg.work_dir == osp.join('./work_dirs',
                                    'resnet-tiny_1xb4-1e_png-folders')
    # The config says persistent_workers=False explicitly: it wins.
    assert cfg.train_dataloader.persistent_workers is False
    assert cfg.test_dataloader.persistent_workers is False

    cfg = train.merge_args(
        Config.fromfile(CONFIG),
        train.parse_args([CONFIG, '--resume', 'x.pth', '--work-dir', 'w']))
    assert cfg.resume is True and cfg.load_from == 'x.pth'
    assert cfg.work_dir == 'w'


def test_train_dataloader_defaults():
    train = load_tool('train')
    cfg = Config(
        dict(
            train_dataloader=dict(num_workers=0),
            val_dataloader=dict(num_workers=2)))
    train.set_dataloader_defaults(cfg)
    assert cfg.train_dataloader.persistent_workers is False
    assert cfg.val_dataloader.persistent_workers is True
    train.set_dataloader_defaults(cfg, no_pin_memory=True,
                                  no_persistent_workers=True)
    assert cfg.val_dataloader.persistent_workers is False
    assert cfg.val_dataloader.pin_memory is False


def test_train_auto_scale_lr_needs_base_batch_size():
    train = load_tool('train')
    cfg = Config.fromfile(CONFIG)
    cfg.pop('auto_scale_lr')
    with pytest.raises(ValueError, match='base_batch_size'):
        train.merge_args(cfg, train.parse_args([CONFIG, '--auto-scale-lr']))


def test_test_merge_args(tmp_path):
    test = load_tool('test')
    args = test.parse_args(
        [CONFIG, 'c.pth', '--show-dir',
         str(tmp_path), '--interval', '3'])
    cfg = test.merge_args(Config.fromfile(CONFIG), args)
    assert cfg.load_from == 'c.pth'
    hook = cfg.default_hooks.visualization
    assert hook.enable is True and hook.out_dir == str(tmp_path)
    assert hook.interval == 3 and hook.show is False

    args = test.parse_args([CONFIG, 'c.pth', '--tta', '--no-pin-memory'])
    cfg = test.merge_args(Config.fromfile(CONFIG), args)
    assert cfg.default_hooks.visualization.enable is False
    assert cfg.model.type == 'mmpretrain.AverageClsScoreTTA'
    assert cfg.model.module.type == 'ImageClassifier'
    assert cfg.test_dataloader.dataset.pipeline[-1].type == 'TestTimeAug'
    assert cfg.test_dataloader.pin_memory is False


def test_test_flag_errors(capsys):
    test = load_tool('test')
    with pytest.raises(SystemExit):
        test.parse_args([CONFIG, 'c.pth', '--out-item', 'metrics'])
    assert '--out-item needs --out' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        test.parse_args([CONFIG, 'c.pth', '--tta', '--show-dir', 'v'])
    assert '--tta cannot be combined' in capsys.readouterr().err

    cfg = Config.fromfile(CONFIG)
    cfg.test_dataloader.dataset.pipeline[-1] = dict(
        type='PackMultiViewInputs')
    with pytest.raises(ValueError, match='tta_pipeline'):
        test.merge_args(cfg, test.parse_args([CONFIG, 'c.pth', '--tta']))

    cfg = Config.fromfile(CONFIG)
    cfg.default_hooks.pop('visualization')
    with pytest.raises(ValueError, match='visualization hook'):
        test.merge_args(cfg, test.parse_args([CONFIG, 'c.pth', '--show']))
