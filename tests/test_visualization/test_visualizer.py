# Copyright (c) mmfer4d contributors. All rights reserved.
"""FERVisualizer: backends by name, so one --cfg-options switches them."""
import glob
import importlib.util
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.visualization import (LocalVisBackend, TensorboardVisBackend,
                                    WandbVisBackend)

from mmfer4d.registry import VISUALIZERS
from mmfer4d.visualization import FERVisualizer, backend_configs

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RUNTIME = osp.join(REPO, 'configs', '_base_', 'default_runtime.py')


def _train_tool():
    spec = importlib.util.spec_from_file_location(
        '_train_tool', osp.join(REPO, 'tools', 'train.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_backend_names_resolve_to_registered_types():
    assert backend_configs(['local', 'TensorBoard', 'WandbVisBackend']) == [
        dict(type='LocalVisBackend'),
        dict(type='TensorboardVisBackend'),
        dict(type='WandbVisBackend')
    ]
    cfg = dict(type='LocalVisBackend', save_dir='x')
    assert backend_configs(cfg) == [cfg] and backend_configs(None) == []
    with pytest.raises(ValueError, match='tensorbord.*known: .*tensorboard'):
        backend_configs(['tensorbord'])
    with pytest.raises(TypeError):
        backend_configs([3])


def test_the_stock_visualizer_cannot_take_what_cfg_options_makes():
    """Why FERVisualizer exists: DictAction gives a list of strings."""
    from mmpretrain.visualization import UniversalVisualizer
    with pytest.raises(TypeError, match='list of dicts'):
        UniversalVisualizer(name='eco_stock', vis_backends=['local'])


def test_one_cfg_option_switches_tensorboard_on(tmp_path):
    """The README's command line, parsed by tools/train.py, gives a
    visualizer with a working TensorBoard backend beside the local one."""
    train = _train_tool()
    args = train.parse_args([
        RUNTIME, '--work-dir', str(tmp_path), '--cfg-options',
        'visualizer.vis_backends=local,tensorboard'
    ])
    cfg = train.merge_args(Config.fromfile(RUNTIME), args)
    assert cfg.visualizer.vis_backends == ['local', 'tensorboard']
    vis = VISUALIZERS.build(
        dict(cfg.visualizer, name='eco_tb', save_dir=str(tmp_path)))
    assert isinstance(vis, FERVisualizer)
    assert isinstance(vis.get_backend('LocalVisBackend'), LocalVisBackend)
    assert isinstance(
        vis.get_backend('TensorboardVisBackend'), TensorboardVisBackend)
    if importlib.util.find_spec('tensorboard') is None and \
            importlib.util.find_spec('tensorboardX') is None:
        pytest.skip('tensorboard is not installed (requirements/tests.txt): '
                    'the backend is built but cannot write')
    vis.add_scalars({'loss': 1.5}, step=1)
    vis_data = osp.join(str(tmp_path), 'vis_data')
    assert glob.glob(osp.join(vis_data, 'events.out.tfevents.*'))
    assert osp.isfile(osp.join(vis_data, 'scalars.json'))


def test_wandb_by_name_without_wandb_installed(tmp_path):
    """Backends start their library lazily: building needs no wandb."""
    vis = FERVisualizer(name='eco_wandb', vis_backends=['local', 'wandb'],
                        save_dir=str(tmp_path))
    assert isinstance(vis.get_backend('WandbVisBackend'), WandbVisBackend)
