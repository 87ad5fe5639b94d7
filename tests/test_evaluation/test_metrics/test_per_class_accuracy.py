# Copyright (c) mmfer4d contributors. All rights reserved.
import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample

from mmfer4d.evaluation import PerClassAccuracy


def _samples(gt, pred, num_classes=3):
    samples = []
    for g, p in zip(gt, pred):
        score = torch.full((num_classes, ), 0.1)
        score[p] = 0.8
        samples.append(DataSample().set_gt_label(g).set_pred_score(score))
    return samples


def test_hand_computed_values():
    metric = PerClassAccuracy(classes=('a', 'b', 'c'))
    metric.process(None, [
        s.to_dict() for s in _samples([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 0, 2])
    ])
    out = metric.evaluate(6)
    assert out['fer/top1'] == pytest.approx(100 * 4 / 6)
    assert out['fer/acc_a'] == pytest.approx(100 * 2 / 3)
    assert out['fer/acc_b'] == pytest.approx(50.0)
    assert out['fer/acc_c'] == pytest.approx(100.0)
    assert out['fer/mean_class_acc'] == pytest.approx(
        100 * (2 / 3 + 1 / 2 + 1) / 3)
    assert out['fer/confusion_matrix'] == [[2, 1, 0], [1, 1, 0], [0, 0, 1]]
    assert out['fer/classes'] == ['a', 'b', 'c']


def test_class_without_samples_is_nan_and_left_out_of_mean():
    metric = PerClassAccuracy(num_classes=3)
    metric.process(None, [
        dict(gt_label=torch.tensor([g]), pred_label=torch.tensor([p]))
        for g, p in [(0, 0), (1, 0)]
    ])
    out = metric.evaluate(2)
    assert np.isnan(out['fer/acc_2'])
    assert out['fer/mean_class_acc'] == pytest.approx(50.0)


def test_through_registry_and_evaluator_with_dataset_classes():
    init_default_scope('mmfer4d')
    evaluator = Evaluator(
        [dict(type='PerClassAccuracy'),
         dict(type='Accuracy')])
    evaluator.dataset_meta = dict(classes=('x', 'y', 'z'))
    evaluator.process(_samples([0, 1, 2, 2], [0, 1, 2, 0]))
    out = evaluator.evaluate(4)
    assert out['fer/acc_z'] == pytest.approx(50.0)
    # Same top-1 as mmpretrain's Accuracy.
    assert out['fer/top1'] == pytest.approx(out['accuracy/top1'])


def test_label_out_of_range_raises():
    metric = PerClassAccuracy(num_classes=2)
    metric.process(None, [dict(gt_label=torch.tensor([3]),
                               pred_label=torch.tensor([0]))])
    with pytest.raises(ValueError, match='labels must lie'):
        metric.evaluate(1)


def test_per_intensity_accuracy_by_hand():
    # Level 1: 1 of 3 right; level 4: 2 of 2; unknown (-1) and missing
    # intensities count in top1 but in no level.
    gt = [0, 1, 2, 0, 1, 2, 0]
    pred = [0, 0, 1, 0, 1, 0, 0]
    levels = [1, 1, 1, 4, 4, -1, None]
    samples = []
    for s, level in zip(_samples(gt, pred), levels):
        if level is not None:
            s.set_metainfo(dict(intensity=level))
        samples.append(s.to_dict())
    metric = PerClassAccuracy(num_classes=3)
    metric.process(None, samples)
    out = metric.evaluate(len(samples))
    assert out['fer/acc_intensity_1'] == pytest.approx(100 / 3)
    assert out['fer/acc_intensity_4'] == pytest.approx(100.0)
    assert out['fer/top1'] == pytest.approx(100 * 4 / 7)
    assert not any(k.startswith('fer/acc_intensity_')
                   for k in out if k not in ('fer/acc_intensity_1',
                                             'fer/acc_intensity_4'))
    off = PerClassAccuracy(num_classes=3, per_intensity=False)
    off.process(None, samples)
    assert not any('intensity' in k for k in off.evaluate(len(samples)))


def test_skipped_samples_are_counted_not_scored():
    # Six test samples, two of them skipped (broken files): the scores are
    # over the 4 scored ones, and the counts say so. In mmengine's evaluate
    # the results still number one per test sample (4 + 2 = 6).
    metric = PerClassAccuracy(classes=('a', 'b', 'c'))
    skipped = [dict(index=i, files=[f'{i}.wrl'], error='truncated')
               for i in (1, 4)]
    metric.process(dict(skipped_samples=skipped[:1]),
                   [s.to_dict() for s in _samples([0, 1], [0, 1])])
    metric.process(dict(skipped_samples=skipped[1:]),
                   [s.to_dict() for s in _samples([2, 2], [2, 0])])
    out = metric.evaluate(6)
    assert (out['fer/num_scored'], out['fer/num_skipped']) == (4, 2)
    assert out['fer/top1'] == pytest.approx(75.0)
    assert out['fer/confusion_matrix'] == [[1, 0, 0], [0, 1, 0], [1, 0, 1]]
    empty = PerClassAccuracy(classes=('a', 'b', 'c'))
    empty.process(dict(skipped_samples=skipped), [])
    with pytest.warns(UserWarning, match='all 2 test samples'):
        assert empty.evaluate(2) == {'fer/num_scored': 0,
                                     'fer/num_skipped': 2}
