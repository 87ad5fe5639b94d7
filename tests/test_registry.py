# Copyright (c) mmfer4d contributors. All rights reserved.
"""Tests of ``mmfer4d/registry.py``: our scope, the zoo through parents."""
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope, init_default_scope
from mmengine.runner import Runner
from mmpretrain.models import ResNet
from torch import nn

import mmfer4d.registry as registry
from mmfer4d.registry import MODELS

THROWAWAY = 'ThrowawayRegistryTestLoss'


@pytest.fixture
def throwaway_loss():
    """A loss registered into our MODELS for one test, removed after."""

    class ThrowawayRegistryTestLoss(nn.Module):

        def __init__(self, loss_weight=1.0):
            super().__init__()
            self.loss_weight = loss_weight

        def forward(self, cls_score, label, **kwargs):
            return self.loss_weight * nn.functional.cross_entropy(
                cls_score, label)

    MODELS.register_module(name=THROWAWAY, module=ThrowawayRegistryTestLoss)
    yield ThrowawayRegistryTestLoss
    MODELS._module_dict.pop(THROWAWAY)


def tiny_classifier_cfg(loss_type):
    """A zoo ImageClassifier whose head loss is ``loss_type``."""
    return dict(
        type='ImageClassifier',
        backbone=dict(
            type='ResNet',
            depth=18,
            stem_channels=8,
            base_channels=8,
            out_indices=(3, )),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=3,
            in_channels=64,
            loss=dict(type=loss_type, loss_weight=0.5)))


@pytest.mark.parametrize('name', registry.__all__)
def test_every_registry_is_a_child_in_our_scope(name):
    reg = getattr(registry, name)
    assert reg.scope == 'mmfer4d'
    assert reg.parent is not None
    expected_parent = 'mmengine' if name == 'INFERENCERS' else 'mmpretrain'
    assert reg.parent.scope == expected_parent
    # Our modules come first, then the parent's, so lazy lookups find both.
    assert reg._locations[0].startswith('mmfer4d.')
    assert reg._locations[1:] == list(reg.parent._locations)


def test_models_build_resolves_ours_and_the_zoo(throwaway_loss):
    init_default_scope('mmfer4d')
    backbone = MODELS.build(
        dict(type='ResNet', depth=18, base_channels=8, stem_channels=8))
    explicit = MODELS.build(
        dict(
            type='mmpretrain.ResNet',
            depth=18,
            base_channels=8,
            stem_channels=8))
    ours = MODELS.build(dict(type=THROWAWAY, loss_weight=2.0))
    assert type(backbone) is ResNet and type(explicit) is ResNet
    assert isinstance(ours, throwaway_loss) and ours.loss_weight == 2.0
    # Our type is not visible from the parent (zoo) scope.
    assert MODELS.parent.get(THROWAWAY) is None


def test_multiview_barlow_twins_loss_is_registered():
    loss_cls = MODELS.get('MultiViewBarlowTwinsLoss')
    if loss_cls is None:
        pytest.skip('MultiViewBarlowTwinsLoss is not written yet')
    assert loss_cls.__module__.startswith('mmfer4d.')
    loss = MODELS.build(dict(type='MultiViewBarlowTwinsLoss'))
    assert isinstance(loss, loss_cls)


def test_runner_config_resolves_ours_and_the_zoo(tmp_path, throwaway_loss):
    cfg = Config(
        dict(
            default_scope='mmfer4d',
            custom_imports=dict(
                imports=['mmfer4d'], allow_failed_imports=False),
            model=tiny_classifier_cfg(THROWAWAY),
            work_dir=str(tmp_path),
            experiment_name='test_registry_runner'))
    runner = Runner.from_cfg(cfg)
    assert DefaultScope.get_current_instance().scope_name == 'mmfer4d'
    model = runner.model
    assert type(model.backbone) is ResNet
    assert isinstance(model.head.loss_module, throwaway_loss)
    assert model.head.loss_module.loss_weight == 0.5
    # The built model runs: our loss is really wired into the zoo head.
    inputs = torch.rand(2, 3, 32, 32)
    feats = model.extract_feat(inputs)
    assert model.head(feats).shape == (2, 3)


def test_unknown_type_is_a_clear_error():
    init_default_scope('mmfer4d')
    with pytest.raises(KeyError, match='NoSuchModelAnywhere'):
        MODELS.build(dict(type='NoSuchModelAnywhere'))


def test_data_sets_and_models_build_without_a_default_scope():
    """In a fresh interpreter nothing has set a default scope: our data
    sets still resolve their transforms, our registry its models, and a
    config can inherit ``mmfer4d::`` configs once mmfer4d is imported
    (from the installed ``.mim``; see tests/test_install.py)."""
    import os
    import subprocess
    import sys
    code = '\n'.join([
        'from mmengine.config.utils import MODULE2PACKAGE',
        'from mmengine.registry import DefaultScope',
        'from mmfer4d.datasets import SyntheticFER3D',
        'from mmfer4d.registry import MODELS',
        'assert DefaultScope.get_current_instance() is None',
        "ds = SyntheticFER3D(num_subjects=2, num_folds=2, lazy_init=True,",
        "                    pipeline=[dict(type='SynthesizeFaceMesh'),",
        "                              dict(type='RenderMultiView')])",
        'print([type(t).__name__ for t in ds.pipeline.transforms])',
        "print(type(MODELS.build(dict(type='MultiViewNeck'))).__name__)",
        "print(MODULE2PACKAGE['mmfer4d'])",
    ])
    out = subprocess.run([sys.executable, '-c', code],
                         capture_output=True, text=True, env=os.environ,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split('\n')[:3] == [
        "['SynthesizeFaceMesh', 'RenderMultiView']", 'MultiViewNeck',
        'mmfer4d'
    ]
