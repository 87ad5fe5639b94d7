# Copyright (c) mmfer4d contributors. All rights reserved.
"""Tests of ``tools/train.py`` and ``tools/test.py``.

The real tiny SMILE-VLM config on ``SyntheticFER3D`` (shrunk on the command
line, see ``tiny_fer_helpers``) trains one epoch through our
``tools/train.py``; its checkpoint is tested through our ``tools/test.py``
(with ``--show-dir``: view grids and a confusion matrix) and through
mmpretrain's own ``tools/test.py`` (which imports mmfer4d through
``custom_imports``), and training resumes from it. A plain zoo config
(ImageClassifier on PNG folders) trains under our scope too. Each run is a
subprocess of the same Python, as a user would run it; the flag handling is
tested in-process.
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

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, HERE)
from tiny_fer_helpers import (REPO, SMILE_VLM_CONFIG,  # noqa: E402
                              tiny_smile_vlm_options)

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


def is_png(path):
    return path.is_file() and path.read_bytes()[:4] == b'\x89PNG'


@pytest.fixture(scope='module')
def tiny_options():
    return ['--cfg-options', *tiny_smile_vlm_options()]


@pytest.fixture(scope='module')
def trained(tiny_options, tmp_path_factory):
    """Work dir and log after ``tools/train.py`` ran 1 epoch of SMILE-VLM."""
    work_dir = tmp_path_factory.mktemp('train')
    output = run(osp.join(REPO, 'tools', 'train.py'),
                 SMILE_VLM_CONFIG,
                 '--work-dir',
                 str(work_dir),
                 *tiny_options,
                 cwd=str(work_dir))
    return work_dir, output


def test_train_writes_a_checkpoint_in_our_scope(trained):
    work_dir, output = trained
    assert (work_dir / 'epoch_1.pth').is_file()
    dumped = Config.fromfile(
        str(work_dir / osp.basename(SMILE_VLM_CONFIG)))
    assert dumped.default_scope == 'mmfer4d'
    assert dumped.custom_imports.imports == ['mmfer4d']
    assert dumped.model.type == 'SMILEVLM'
    assert dumped.test_dataloader.dataset.num_subjects == 4
    # 2 of 4 subjects x 6 scans = 12 training samples in batches of 4, and
    # the three SMILE-VLM losses; the last epoch is validated.
    assert 'Epoch(train) [1][3/3]' in output
    assert all(f'{name}: ' in output
               for name in ('loss_mv', 'loss_vl', 'loss_cmr'))
    assert 'Epoch(val) [1][3/3]' in output and 'accuracy/top1' in output


@pytest.mark.parametrize('tools_dir', [osp.join(REPO, 'tools'),
                                       MMPRETRAIN_TOOLS],
                         ids=['ours', 'mmpretrain'])
def test_test_from_checkpoint(tools_dir, trained, tiny_options, tmp_path):
    ours = tools_dir != MMPRETRAIN_TOOLS
    out = tmp_path / 'metrics.json'
    show_dir = tmp_path / 'vis'
    output = run(osp.join(tools_dir, 'test.py'),
                 SMILE_VLM_CONFIG,
                 str(trained[0] / 'epoch_1.pth'),
                 '--work-dir',
                 str(tmp_path),
                 '--out',
                 str(out),
                 '--out-item',
                 'metrics',
                 *(['--show-dir', str(show_dir), '--interval', '5']
                   if ours else []),
                 *tiny_options,
                 cwd=str(tmp_path))
    assert 'Load checkpoint from' in output
    assert 'Epoch(test) [3/3]' in output
    metrics = json.loads(out.read_text())
    assert 0.0 <= metrics['accuracy/top1'] <= 100.0
    if ours:
        # Every 5th of the 12 test samples (data set indices, unshuffled),
        # drawn with all views and modalities, and the confusion matrix.
        assert sorted(p.name for p in show_dir.glob('sample_*.png')) == \
            ['sample_0_0.png', 'sample_10_0.png', 'sample_5_0.png']
        assert all(is_png(p) for p in show_dir.glob('sample_*.png'))
        assert is_png(show_dir / 'confusion_matrix.png')


def test_resume_from_checkpoint(trained, tiny_options, tmp_path):
    output = run(osp.join(REPO, 'tools', 'train.py'),
                 SMILE_VLM_CONFIG,
                 '--work-dir',
                 str(tmp_path),
                 '--resume',
                 str(trained[0] / 'epoch_1.pth'),
                 *tiny_options,
                 'train_cfg.max_epochs=2',
                 cwd=str(tmp_path))
    assert 'resumed epoch: 1, iter: 3' in output
    assert 'Epoch(train) [2][3/3]' in output
    assert 'Epoch(train) [1]' not in output
    assert (tmp_path / 'epoch_2.pth').is_file()


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


def test_zoo_config_trains_in_our_scope(png_folders, tmp_path):
    """A plain mmpretrain model and data set (ImageClassifier, ResNet,
    CustomDataset, PackInputs) resolve through our child registries.

    In-process (a fresh interpreter is already proven by the SMILE-VLM runs
    above) to save the start-up time of a subprocess.
    """
    import logging

    from mmengine.logging import MMLogger
    load_tool('train').main([
        CONFIG, '--work-dir',
        str(tmp_path), '--cfg-options',
        f'train_dataloader.dataset.data_root={png_folders}',
        f'val_dataloader.dataset.data_root={png_folders}',
        f'test_dataloader.dataset.data_root={png_folders}',
        'log_level=WARNING'
    ])
    for handler in list(MMLogger.get_current_instance().handlers):
        if isinstance(handler, logging.FileHandler) and \
                handler.baseFilename.startswith(str(tmp_path)):
            handler.close()
            MMLogger.get_current_instance().removeHandler(handler)
    assert (tmp_path / 'epoch_1.pth').is_file()
    scalars, = tmp_path.glob('*/vis_data/scalars.json')
    logged = [json.loads(line) for line in scalars.read_text().splitlines()]
    assert any('accuracy/top1' in entry for entry in logged)
    dumped = Config.fromfile(
        str(tmp_path / 'resnet-tiny_1xb4-1e_png-folders.py'))
    assert dumped.default_scope == 'mmfer4d'
    assert dumped.model.type == 'ImageClassifier'


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

    # --amp replaces our bfloat16 wrapper (the make demo config's) by
    # mmengine's, without our wrapper's options.
    cfg = Config.fromfile(CONFIG)
    cfg.optim_wrapper.update(type='AutocastOptimWrapper', enabled='auto',
                             dtype='bfloat16')
    cfg = train.merge_args(cfg, train.parse_args([CONFIG, '--amp']))
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert 'enabled' not in cfg.optim_wrapper
    assert 'dtype' not in cfg.optim_wrapper

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
    # The view-aware hook (the runtime default, or swapped in for
    # mmpretrain's single-image one).
    assert hook.type.split('.')[-1] == 'MultiViewVisualizationHook'
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


def test_tta_of_a_rendering_pipeline_averages_mesh_and_mirror(tmp_path):
    """--tta on a multi-view config: the mesh and its mirror image, each
    rendered and packed, scores averaged; the TTA pipeline builds and gives
    two packed samples whose left and right views swap."""
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope
    init_default_scope('mmfer4d')
    test = load_tool('test')
    config = osp.join(REPO, 'configs', 'smile_vlm', 'smile-vlm_resnet18-'
                      'w16_scratch_1xb32-20e_synthetic-fer3d-3view.py')
    cfg = test.merge_args(
        Config.fromfile(config), test.parse_args([config, 'c.pth', '--tta']))
    assert cfg.model.type == 'mmpretrain.AverageClsScoreTTA'
    assert cfg.model.module.type == 'SMILEVLM'
    pipeline = cfg.test_dataloader.dataset.pipeline
    assert pipeline[-1].type == 'TestTimeAug'
    dataset = dict(cfg.test_dataloader.dataset)
    dataset.update(num_subjects=5, num_folds=5, fold=0, pipeline=[])
    from mmfer4d.registry import DATASETS
    sample = DATASETS.build(dataset)[0]
    out = Compose(pipeline)(sample)
    assert len(out['inputs']) == 2 and len(out['data_samples']) == 2
    plain, mirror = out['inputs']
    assert plain.shape == mirror.shape and plain.shape[0] == 3
    # front <-> mirrored front, left <-> mirrored right (depth channel)
    np.testing.assert_array_equal(plain[1, 0].numpy(),
                                  mirror[2, 0].numpy()[:, ::-1])
    # The wrapped model averages the two (random-init weights).
    import torch
    from mmengine.dataset import pseudo_collate

    from mmfer4d.registry import MODELS
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():
        pred = model.test_step(pseudo_collate([out]))[0]
        single = [
            model.module.test_step(
                dict(inputs=[x], data_samples=[d]))[0].pred_score
            for x, d in zip(out['inputs'], out['data_samples'])
        ]
    torch.testing.assert_close(pred.pred_score, (single[0] + single[1]) / 2)


def test_show_dir_adds_or_keeps_a_visualization_hook():
    test = load_tool('test')
    args = test.parse_args([CONFIG, 'c.pth', '--show', '--wait-time', '1'])
    # No hook: ours is added.
    cfg = Config.fromfile(CONFIG)
    cfg.default_hooks.pop('visualization')
    hook = test.merge_args(cfg, args).default_hooks.visualization
    assert hook.type == 'mmfer4d.MultiViewVisualizationHook'
    assert hook.show is True and hook.wait_time == 1 and hook.enable is True
    # mmpretrain's single-image hook: swapped for ours.
    cfg = Config.fromfile(CONFIG)
    cfg.default_hooks.visualization = dict(type='VisualizationHook')
    hook = test.merge_args(cfg, args).default_hooks.visualization
    assert hook.type == 'mmfer4d.MultiViewVisualizationHook'
    # Another hook the config chose is kept, only switched on.
    cfg = Config.fromfile(CONFIG)
    cfg.default_hooks.visualization = dict(type='MyHook', enable=False)
    hook = test.merge_args(cfg, args).default_hooks.visualization
    assert hook.type == 'MyHook' and hook.enable is True
