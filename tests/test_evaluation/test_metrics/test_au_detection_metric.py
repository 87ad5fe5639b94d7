# Copyright (c) mmfer4d contributors. All rights reserved.
import numpy as np
import pytest
import torch
from mmpretrain.structures import DataSample

from mmfer4d.evaluation import AUDetectionMetric

GT = [[1, 0, 1], [1, 0, 0], [0, 0, 1], [0, 0, -1]]  # -1: unknown label
SCORE = [[.9, .1, .4], [.2, .6, .1], [.7, .2, .8], [.1, .3, .9]]


def _samples(pred_field='pred_au_score'):
    out = []
    for g, s in zip(GT, SCORE):
        sample = DataSample()
        sample.set_field(torch.tensor(g, dtype=torch.float32), 'gt_au')
        value = torch.tensor(s)
        if pred_field == 'pred_au':
            value = (value >= 0.5).long()
        sample.set_field(value, pred_field)
        out.append(sample.to_dict())
    return out


@pytest.mark.parametrize('field', ['pred_au_score', 'pred_au'])
def test_hand_computed(field):
    metric = AUDetectionMetric(au_names=('AU1', 'AU2', 'AU4'))
    metric.process(None, _samples(field))
    out = metric.evaluate(4)
    # AU1: TP 1 FP 1 FN 1; AU2: TP 0 FP 1; AU4 (sample 3 unknown): TP 1 FN 1
    assert out['au/f1_AU1'] == pytest.approx(50.0)
    assert out['au/f1_AU2'] == pytest.approx(0.0)
    assert out['au/f1_AU4'] == pytest.approx(100 * 2 / 3)
    assert out['au/mean_f1'] == pytest.approx(100 * (0.5 + 0 + 2 / 3) / 3)
    assert out['au/occurrence_AU1'] == pytest.approx(50.0)
    assert out['au/occurrence_AU4'] == pytest.approx(100 * 2 / 3)
    assert out['au/pred_occurrence_AU4'] == pytest.approx(100 / 3)


def test_undefined_au_is_nan_and_excluded_from_mean():
    metric = AUDetectionMetric()
    metric.dataset_meta = dict(au_names=('AU6', 'AU12'))
    metric.process(None, [
        dict(gt_au=torch.tensor([1., 0.]), pred_au=torch.tensor([1, 0])),
        dict(gt_au=torch.tensor([0., 0.]), pred_au=torch.tensor([0, 0])),
    ])
    out = metric.evaluate(2)
    assert np.isnan(out['au/f1_AU12'])
    assert out['au/mean_f1'] == pytest.approx(100.0)


def test_missing_prediction_raises():
    metric = AUDetectionMetric()
    with pytest.raises(KeyError, match='pred_au_score'):
        metric.process(None, [dict(gt_au=torch.ones(2))])


def test_name_count_mismatch_raises():
    metric = AUDetectionMetric(au_names=('AU1', ))
    metric.process(None, _samples())
    with pytest.raises(ValueError, match='1 AU names for 3'):
        metric.evaluate(4)


def test_per_frame_labels_of_a_sequence():
    # One sequence of 4 sampled frames (the rows of GT), scored frame by
    # frame: the same counts as 4 scans.
    sample = DataSample()
    sample.set_field(torch.tensor(GT, dtype=torch.float32), 'gt_au')
    sample.set_field(torch.tensor(SCORE), 'pred_au_score')
    metric = AUDetectionMetric(au_names=('AU1', 'AU2', 'AU4'))
    metric.process(None, [sample.to_dict()])
    out = metric.evaluate(1)
    assert out['au/f1_AU1'] == pytest.approx(50.0)
    assert out['au/f1_AU4'] == pytest.approx(100 * 2 / 3)
    assert (out['au/num_scored'], out['au/num_frames']) == (1, 4)
    # One prediction per sequence is its decision for each frame:
    # AU1 predicted on all 4 frames -> TP 2, FP 2: F1 = 4 / 6.
    seq = DataSample()
    seq.set_field(torch.tensor(GT, dtype=torch.float32), 'gt_au')
    seq.set_field(torch.tensor([.9, .1, .1]), 'pred_au_score')
    metric = AUDetectionMetric(au_names=('AU1', 'AU2', 'AU4'))
    metric.process(None, [seq.to_dict()])
    assert metric.evaluate(1)['au/f1_AU1'] == pytest.approx(100 * 4 / 6)
    bad = DataSample()
    bad.set_field(torch.tensor(GT, dtype=torch.float32), 'gt_au')
    bad.set_field(torch.tensor(SCORE[:2]), 'pred_au_score')
    with pytest.raises(ValueError, match='2 rows of predictions for 4'):
        metric.process(None, [bad.to_dict()])


def test_skipped_samples_are_counted_not_scored():
    metric = AUDetectionMetric(au_names=('AU1', 'AU2', 'AU4'))
    record = dict(index=7, files=['x.wrl'], error='broken')
    metric.process(dict(skipped_samples=[record]), _samples()[:2])
    metric.process(dict(skipped_samples=[]), _samples()[2:])
    out = metric.evaluate(5)
    assert (out['au/num_scored'], out['au/num_skipped']) == (4, 1)
    assert out['au/f1_AU1'] == pytest.approx(50.0)
    only = AUDetectionMetric(au_names=('AU1', 'AU2', 'AU4'))
    only.process(dict(skipped_samples=[record]), [])
    with pytest.warns(UserWarning, match='all 1 test samples'):
        assert only.evaluate(1) == {'au/num_scored': 0, 'au/num_skipped': 1}
