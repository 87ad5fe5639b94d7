# Copyright (c) mmfer4d contributors. All rights reserved.
import copy
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from mmfer4d.datasets import SyntheticFER3D
from mmfer4d.datasets.transforms import PackMeshInputs
from mmfer4d.models.data_preprocessors import (MultiViewDataPreprocessor,
                                               RenderingDataPreprocessor)
from mmfer4d.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
CONFIG = osp.join(
    ROOT, 'configs', 'smile_vlm',
    'smile-vlm_resnet18-w16_scratch_1xb32-20e_synthetic-fer3d-3view-torch-'
    'render.py')
RENDER = dict(views=('front', 'left', 'right'), size=32,
              modalities=('depth', 'normal', 'rgb'))
STATS = dict(depth=(127.5, 127.5), normal=(127.5, 127.5),
             rgb=(100.0, 50.0))


def _dataset(pipeline):
    return SyntheticFER3D(
        num_subjects=2, split='test', fold=0, num_folds=2, intensities=(4, ),
        pipeline=[dict(type='SynthesizeFaceMesh'), dict(type='NormalizeFace'),
                  *pipeline])


@pytest.mark.parametrize('backend', ['torch', 'numba'])
def test_renders_as_the_pipeline_path(backend):
    """Rendering in the preprocessor gives the inputs and metainfo of
    RenderMultiView + PackMultiViewInputs + MultiViewDataPreprocessor."""
    init_default_scope('mmfer4d')
    piped = _dataset([dict(type='RenderMultiView', **RENDER),
                      dict(type='PackMultiViewInputs')])
    meshes = _dataset([dict(type='PackMeshInputs')])
    idx = [0, 2, 3, 5]
    ref = MultiViewDataPreprocessor(modality_mean_std=STATS)(
        pseudo_collate([piped[i] for i in idx]))
    prep = RenderingDataPreprocessor(
        render=dict(type='RenderMultiView', backend=backend, **RENDER),
        modality_mean_std=STATS)
    assert prep.num_channels == 7
    batch = pseudo_collate([meshes[i] for i in idx])
    assert all(type(m).__name__ == 'Mesh' for m in batch['inputs'])
    out = prep(batch)
    assert out['inputs'].shape == (4, 3, 7, 32, 32)
    assert out['inputs'].dtype == torch.float32
    # At most one 8-bit step apart (numba fuses multiply-adds in shading).
    steps = (out['inputs'] - ref['inputs']).abs() * torch.tensor(
        [127.5] * 4 + [50.0] * 3).view(1, 1, 7, 1, 1)
    assert steps.max() < 1.001 and (steps > 0.5).float().mean() < 1e-3
    for a, b in zip(out['data_samples'], ref['data_samples']):
        assert a.metainfo['modalities'] == b.metainfo['modalities']
        assert a.metainfo['img_shape'] == b.metainfo['img_shape']
        np.testing.assert_allclose(a.metainfo['view_angles'],
                                   b.metainfo['view_angles'])
        assert a.gt_label == b.gt_label
        assert 'landmarks_2d' not in a  # project_landmarks=False
    if backend == 'torch':
        assert prep.renderer.backend.return_tensors


def test_landmarks_on_request():
    meshes = _dataset([dict(type='PackMeshInputs')])
    prep = RenderingDataPreprocessor(
        render=dict(RENDER, project_landmarks=True), modality_mean_std=STATS)
    out = prep(pseudo_collate([meshes[0], meshes[1]]))
    sample = out['data_samples'][0]
    assert sample.landmarks_2d.shape == (3, 68, 2)
    assert sample.landmarks_2d_visible.dtype == torch.bool
    assert sample.landmarks_2d_visible.any()


def test_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match='cache'):
        RenderingDataPreprocessor(render=dict(RENDER, cache=dict(dir='x')))
    with pytest.raises(ValueError, match='differ from the rendered'):
        RenderingDataPreprocessor(render=RENDER, modalities=('depth', ))
    prep = RenderingDataPreprocessor(render=RENDER)
    with pytest.raises(ValueError, match=r'renders meshes.*Tensor'):
        prep(dict(inputs=[torch.zeros(3, 7, 32, 32)], data_samples=None))
    with pytest.raises(KeyError, match='sequences'):
        PackMeshInputs()(dict(meshes=[]))
    with pytest.raises(TypeError, match='needs a Mesh'):
        PackMeshInputs()(dict(mesh=np.zeros((3, 3))))


def test_torch_render_config_trains_an_iteration(tmp_path):
    """The shipped config builds and trains (shrunk: 4 subjects, 32 px,
    batches of 4, one epoch of 3 iterations, no validation)."""
    cfg = Config.fromfile(CONFIG)
    assert cfg.render_backend == 'torch'
    assert cfg.data_preprocessor.type == 'RenderingDataPreprocessor'
    steps = [s['type'] for s in cfg.train_dataloader.dataset.pipeline]
    assert steps[-1] == 'PackMeshInputs' and 'RenderMultiView' not in steps
    cfg = copy.deepcopy(cfg)
    cfg.data_preprocessor.render.size = 32
    ds = cfg.train_dataloader.dataset
    ds.num_subjects, ds.num_folds, ds.intensities = 4, 2, [4]
    cfg.train_dataloader.update(
        batch_size=4, num_workers=0, persistent_workers=False)
    cfg.model.text_encoder.text_cfg_overrides = dict(
        layers=1, width=32, heads=2, context_length=16)
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=10)
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.test_dataloader = cfg.test_evaluator = cfg.test_cfg = None
    cfg.param_scheduler = None
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger.interval = 1
    cfg.custom_hooks = [h for h in cfg.get('custom_hooks') or []
                        if h.type != 'PseudoLabelHook']
    cfg.work_dir = str(tmp_path)
    runner = Runner.from_cfg(cfg)
    assert isinstance(runner.model.data_preprocessor,
                      RenderingDataPreprocessor)
    assert runner.model.in_channels == 4  # depth + normal
    before = {k: v.clone() for k, v in runner.model.state_dict().items()}
    runner.train()
    assert runner.iter == 3
    changed = [k for k, v in runner.model.state_dict().items()
               if v.dtype.is_floating_point and not torch.equal(v, before[k])]
    assert any('backbone' in k for k in changed)
    assert MODELS.get('RenderingDataPreprocessor') is \
        RenderingDataPreprocessor
