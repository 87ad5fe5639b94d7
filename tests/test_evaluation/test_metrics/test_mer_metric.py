# Copyright (c) mmfer4d contributors. All rights reserved.
import numpy as np
import pytest
import torch

from mmfer4d.evaluation import MERMetric, uf1_uar

# Unbalanced: 6 samples of class 0, 2 of class 1, 2 of class 2.
GT = [0, 0, 0, 0, 0, 0, 1, 1, 2, 2]
PRED = [0, 0, 0, 0, 0, 1, 1, 0, 2, 1]
# class 0: TP 5, FP 1, FN 1 -> F1 10/12, recall 5/6
# class 1: TP 1, FP 2, FN 1 -> F1 2/5,  recall 1/2
# class 2: TP 1, FP 0, FN 1 -> F1 2/3,  recall 1/2
UF1 = (10 / 12 + 2 / 5 + 2 / 3) / 3
UAR = (5 / 6 + 1 / 2 + 1 / 2) / 3


def test_uf1_uar_unbalanced_hand_computed():
    out = uf1_uar(PRED, GT, 3)
    assert out['uf1'] == pytest.approx(UF1)
    assert out['uar'] == pytest.approx(UAR)
    # Unweighted: differs from accuracy (0.7) on unbalanced data.
    assert out['uar'] != pytest.approx(0.7)


def test_metric_keys_in_percent():
    metric = MERMetric(classes=('pos', 'neg', 'sur'))
    metric.process(None, [
        dict(gt_label=torch.tensor([g]), pred_label=torch.tensor([p]))
        for g, p in zip(GT, PRED)
    ])
    out = metric.evaluate(len(GT))
    assert out['mer/UF1'] == pytest.approx(100 * UF1)
    assert out['mer/UAR'] == pytest.approx(100 * UAR)
    assert out['mer/accuracy'] == pytest.approx(70.0)
    assert out['mer/f1_neg'] == pytest.approx(40.0)
    assert out['mer/recall_pos'] == pytest.approx(100 * 5 / 6)


def test_undefined_classes_left_out():
    out = uf1_uar([0, 1], [0, 0], 3)
    # class 0: F1 2/3; class 1 predicted but absent: F1 0; class 2: 0/0.
    assert out['uf1'] == pytest.approx(1 / 3)
    assert out['uar'] == pytest.approx(0.5)
    assert np.isnan(out['f1'][2]) and np.isnan(out['recall'][1])


def test_pooled_differs_from_mean_of_folds():
    # Two LOSO folds; the pooled UF1 is not the mean of per-fold UF1.
    folds = [(GT[:5], PRED[:5]), (GT[5:], PRED[5:])]
    per_fold = [uf1_uar(p, g, 3)['uf1'] for g, p in folds]
    assert np.mean(per_fold) != pytest.approx(UF1)
    assert uf1_uar(PRED, GT, 3)['uf1'] == pytest.approx(UF1)


def test_scores_argmax_used():
    metric = MERMetric()
    metric.process(None, [
        dict(gt_label=torch.tensor([1]), pred_score=torch.tensor([.2, .8])),
        dict(gt_label=torch.tensor([0]), pred_score=torch.tensor([.3, .7])),
    ])
    out = metric.evaluate(2)
    assert out['mer/UAR'] == pytest.approx(50.0)
    assert 'mer/f1_1' in out


def test_skipped_clips_are_counted_not_scored():
    metric = MERMetric(classes=('pos', 'neg', 'sur'))
    metric.process(dict(skipped_samples=[dict(index=10, files=['c.obj'])]), [
        dict(gt_label=torch.tensor([g]), pred_label=torch.tensor([p]))
        for g, p in zip(GT, PRED)
    ])
    out = metric.evaluate(len(GT) + 1)
    assert out['mer/UF1'] == pytest.approx(100 * UF1)
    assert (out['mer/num_scored'], out['mer/num_skipped']) == (len(GT), 1)
