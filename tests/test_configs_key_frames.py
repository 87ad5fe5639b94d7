# Copyright (c) mmfer4d contributors. All rights reserved.
"""The key-frame recipe of the 4D and micro-expression configs: the
4D demo (`make demo-4d`), the micro-expression demo (`make demo-mer`) and
the 4DME config share their frame choice and temporal fusion."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmfer4d.apis.kfold import config_num_folds, set_fold, split_subjects
from mmfer4d.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CFG = osp.join(ROOT, 'configs', 'smile_vlm')
FER4D = osp.join(CFG, 'smile-vlm_resnet18-w16_scratch_1xb16-40e_'
                 'synthetic-fer4d-3view-normal-96px-3f.py')
MER = osp.join(CFG, 'smile-vlm_resnet18-w16_scratch_1xb16-20e_'
               'synthetic-mer4d-3view-normal-96px-3f.py')
FOURDME = osp.join(CFG, 'smile-vlm_resnet50_scratch_8xb8-50e_'
                   'fourdme-3view-normal-3f.py')
STATIC = osp.join(CFG, 'smile-vlm_resnet18-w16_scratch_1xb32-40e_'
                  'synthetic-fer3d-3view-normal-96px.py')


def _step(pipeline, name):
    steps = [s for s in pipeline if str(s['type']).split('.')[-1] == name]
    assert len(steps) == 1, (name, pipeline)
    return steps[0]


def _recipe(cfg):
    train = cfg.train_dataloader.dataset.pipeline
    test = cfg.test_dataloader.dataset.pipeline
    sample, sample_test = (_step(p, 'SampleFrames') for p in (train, test))
    return dict(
        mode=(sample['mode'], sample_test['mode']),
        frames=(sample['num_frames'], sample_test['num_frames']),
        test_mode=sample_test.get('test_mode'),
        fusion=dict(cfg.model.temporal_fusion),
        order=cfg.model.temporal_fusion_order,
        modalities=tuple(_step(test, 'RenderMultiView')['modalities']),
        augment=[str(s['type']) for s in train
                 if 'Random' in str(s['type'])])


@pytest.mark.parametrize('path', [FER4D, MER, FOURDME],
                         ids=['fer4d', 'mer', '4dme'])
def test_key_frames_feed_the_difference_fusion(path):
    recipe = _recipe(Config.fromfile(path))
    assert recipe['mode'] == ('key_frames', 'key_frames')
    assert recipe['frames'] == (3, 3) and recipe['test_mode'] is True
    # onset, apex, offset: the fusion subtracts both references.
    assert recipe['fusion'] == dict(type='DifferenceTemporalFusion',
                                    reference='onset_offset')
    assert recipe['modalities'] == ('normal', )
    assert 'RandomMeshFlip' in recipe['augment']
    assert 'RandomMeshWarp' in recipe['augment']


def test_4dme_runs_the_micro_expression_demo_recipe():
    mer, fourdme = _recipe(Config.fromfile(MER)), _recipe(
        Config.fromfile(FOURDME))
    assert mer == fourdme
    # 4DME is leave-one-subject-out (tools/kfold.py --loso says the same);
    # the CPU demo states its 5 subject-independent folds.
    assert config_num_folds(Config.fromfile(FOURDME))[0] == 'loso'
    assert config_num_folds(Config.fromfile(MER))[0] == 5


def test_micro_expression_demo_magnifies_the_aligned_smoothed_motion():
    pipelines = [Config.fromfile(MER)[f].dataset.pipeline
                 for f in ('train_dataloader', 'test_dataloader')]
    for pipeline in pipelines:
        types = [str(s['type']) for s in pipeline]
        magnify = _step(pipeline, 'MagnifyMeshMotion')
        assert magnify['alpha'] > 1 and magnify['smooth_iters'] > 0
        assert magnify.get('rigid_align', True)
        # On the synthesised frames, before any cropping (NormalizeFace)
        # changes their vertex counts.
        assert types.index('MagnifyMeshMotion') == \
            types.index('SynthesizeFaceSequence') + 1
    # Raw 4DME scans are not in vertex correspondence.
    assert not [s for s in Config.fromfile(FOURDME).train_dataloader.dataset
                .pipeline if s['type'] == 'MagnifyMeshMotion']


def test_4d_demo_tests_the_static_demo_subjects():
    """`make demo-4d` and `make demo` hold out the same 20 subjects."""
    subjects = []
    for path in (FER4D, STATIC):
        cfg = Config.fromfile(path)
        set_fold(cfg, 0, 5, 0)
        subjects.append({s for _, s in split_subjects(cfg)})
    assert len(subjects[0]) == 20
    # SyntheticFER3D names subjects with 4 digits, SyntheticFER4D with 3.
    assert {s[0] + s[1:].lstrip('0') for s in subjects[0]} == \
        {s[0] + s[1:].lstrip('0') for s in subjects[1]}


@pytest.mark.parametrize('path', [FER4D, MER], ids=['fer4d', 'mer'])
def test_demo_model_fuses_key_frames_into_one_embedding(path):
    cfg = Config.fromfile(path)
    init_default_scope('mmfer4d')
    model_cfg = cfg.model
    model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(model_cfg)
    torch.manual_seed(0)
    x = torch.randn(2, 3, 3, 3, 32, 32)  # (N, T, V, C, H, W)
    fused, per_view = model.extract_feat(x)
    assert fused.shape == (2, model.embed_dims)
    assert per_view.shape == (2, 3, model.embed_dims)
    # Three copies of one frame: no movement, a zero embedding.
    still = x[:, :1].expand(-1, 3, -1, -1, -1, -1).contiguous()
    model.eval()
    assert torch.allclose(model.extract_feat(still)[0],
                          torch.zeros_like(fused), atol=1e-5)
