# Copyright (c) mmfer4d contributors. All rights reserved.
"""The micro-expression demo's config and summary (the training itself is
`make demo-mer`)."""
import pytest

from mmfer4d.apis.demo_mer import (DEFAULT_MER_CONFIG, format_mer_summary,
                                   make_demo_cfg)


def test_demo_cfg_tests_the_final_model_with_the_schedule_asked_for(
        tmp_path):
    cfg = make_demo_cfg(DEFAULT_MER_CONFIG, str(tmp_path), False, epochs=6)
    assert cfg.work_dir == str(tmp_path)
    # No validation on the held-out fold during training.
    assert cfg.val_cfg is None and cfg.val_dataloader is None
    assert cfg.train_cfg.max_epochs == 6
    warm, cosine = cfg.param_scheduler
    assert (warm['type'], warm['end']) == ('LinearLR', 1)
    assert (cosine['type'], cosine['begin'], cosine['end'],
            cosine['T_max']) == ('CosineAnnealingLR', 1, 6, 5)
    assert cfg.default_hooks.checkpoint.interval == 6
    assert any(m['type'] == 'MERMetric' for m in (
        cfg.test_evaluator if isinstance(cfg.test_evaluator, list) else
        [cfg.test_evaluator]))
    same = make_demo_cfg(DEFAULT_MER_CONFIG, str(tmp_path), True)
    assert same.resume is True
    assert same.train_cfg.max_epochs == 20


def _summary(uf1, uar):
    pooled = {'mer/UF1': uf1, 'mer/UAR': uar, 'mer/accuracy': 75.0,
              'mer/recall_positive': 90.0, 'mer/recall_others': 40.0}
    return dict(
        protocol=dict(subjects=40, folds=5),
        pooled={'0': pooled},
        aggregate={'mer/UF1': dict(mean=70.0, std=5.0),
                   'mer/UAR': dict(mean=72.0, std=4.0),
                   'mer/accuracy': dict(mean=75.0, std=3.0)})


def test_summary_prints_pooled_scores_as_fractions():
    text = format_mer_summary(_summary(81.25, 80.5), wall_s=125.0)
    assert 'UF1 0.8125  UAR 0.8050  accuracy 75.00 %' in text
    assert 'per-fold mean +- std: UF1 0.7000 +- 0.0500, UAR 0.7200 +- ' \
        '0.0400' in text
    assert 'positive 90.0, others 40.0' in text
    assert 'wall time: 2 min 5 s' in text


def test_summary_without_mer_metric_is_an_error():
    summary = _summary(1.0, 1.0)
    summary['pooled'] = {'0': {'fer/top1': 50.0}}
    with pytest.raises(KeyError):
        format_mer_summary(summary)
