# Copyright (c) mmfer4d contributors. All rights reserved.
"""mmfer4d/apis/demo/run_config.py: the config edits of a demo run."""
import os.path as osp

import pytest
from mmengine.config import Config

from mmfer4d.apis.demo import (RUNS, DemoOptions, apply_size_options,
                               build_run_cfg, iter_pipelines, protocol_of)


def test_size_options_rewrite_every_pipeline_and_schedule():
    cfg = Config.fromfile(RUNS['smile-vlm-pseudo'].config)
    apply_size_options(cfg, num_subjects=7, epochs=3, img_size=40,
                       num_workers=0)
    sizes = [
        step['size'] for pipeline in iter_pipelines(cfg)
        for step in pipeline if step['type'] == 'RenderMultiView'
    ]
    # train, val, test and the PseudoLabelHook's pipeline.
    assert sizes == [40] * 4
    assert cfg.train_dataloader.dataset.num_subjects == 7
    assert cfg.test_dataloader.dataset.num_subjects == 7
    assert cfg.train_dataloader.persistent_workers is False
    assert cfg.train_cfg.max_epochs == 3
    assert cfg.train_cfg.val_interval == 3
    assert cfg.default_hooks.checkpoint.interval == 3
    # The config warms up: one linear epoch, then cosine to the end.
    assert [s['type'] for s in cfg.param_scheduler] == [
        'LinearLR', 'CosineAnnealingLR'
    ]
    assert cfg.param_scheduler[-1]['begin'] == 1
    assert cfg.param_scheduler[-1]['end'] == 3
    assert cfg.custom_hooks[0]['num_workers'] == 0


def test_no_option_keeps_the_config():
    cfg = Config.fromfile(RUNS['smile-vlm'].config)
    before = cfg.to_dict()
    apply_size_options(cfg)
    assert cfg.to_dict() == before


def test_run_cfg_holds_out_the_fold_and_probes_the_checkpoint(tmp_path):
    run_dir = str(tmp_path / 'smile-vlm-linear')
    options = DemoOptions(num_subjects=10, seed=3)
    cfg, path = build_run_cfg('smile-vlm-linear', options, 1, 5, run_dir,
                              probe_checkpoint='/x/epoch_10.pth')
    assert path == RUNS['smile-vlm-linear'].config
    train = cfg.train_dataloader.dataset
    test = cfg.test_dataloader.dataset
    assert (train.fold, train.num_folds, train.seed) == (1, 5, 3)
    assert (train.split, test.split) == ('train', 'test')
    assert cfg.model.init_cfg == dict(type='Pretrained',
                                      checkpoint='/x/epoch_10.pth')
    # No validation: the held-out subjects are only tested, at the end.
    assert cfg.val_dataloader is None and cfg.val_cfg is None
    assert cfg.load_from is None and cfg.resume is False
    dump = [m for m in cfg.test_evaluator if m['type'] == 'DumpResults']
    assert dump and dump[0]['out_file_path'] == osp.join(
        run_dir, 'predictions.pkl')
    assert protocol_of(cfg, 5, [1]) == dict(
        dataset='SyntheticFER3D', subjects=10, folds=5, folds_tested=[1],
        classes=6, intensities=[3, 4])


def test_full_needs_a_real_size_config():
    with pytest.raises(ValueError, match='no real-size config'):
        build_run_cfg('smile-vlm-4d', DemoOptions(full=True), 0, 10, '/tmp')


def test_4d_protocol_is_apex_intensities():
    cfg, _ = build_run_cfg('smile-vlm-4d', DemoOptions(), 0, 5, '/tmp/x')
    assert protocol_of(cfg, 5, [0])['intensities'] == [3, 4]
    assert protocol_of(cfg, 5, [0])['dataset'] == 'SyntheticFER4D'
