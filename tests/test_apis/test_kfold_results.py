# Copyright (c) mmfer4d contributors. All rights reserved.
"""Pooled vs per-fold statistics of a protocol run, against hand counts."""
import pickle

import pytest
import torch

from mmfer4d.apis import aggregate_folds, leaderboard_values, pool_predictions

# Two LOSO folds (one subject each), 3 classes, as DumpResults stores them.
FOLD_A = dict(gt=[0, 0, 1], pred=[0, 1, 1])
FOLD_B = dict(gt=[2, 2, 0], pred=[2, 0, 0])


def _dump(path, fold):
    samples = [
        dict(gt_label=torch.tensor([g]), pred_label=torch.tensor([p]))
        for g, p in zip(fold['gt'], fold['pred'])
    ]
    with open(path, 'wb') as f:
        pickle.dump(samples, f)
    return str(path)


@pytest.fixture
def files(tmp_path):
    return [_dump(tmp_path / 'a.pkl', FOLD_A), _dump(tmp_path / 'b.pkl',
                                                     FOLD_B)]


def test_uf1_uar_are_computed_once_on_the_concatenated_folds(files):
    # Pooled by hand: gt 0 0 1 2 2 0, pred 0 1 1 2 0 0.
    # class 0: TP 2, FP 1, FN 1 -> F1 4/6, recall 2/3
    # class 1: TP 1, FP 1, FN 0 -> F1 2/3, recall 1
    # class 2: TP 1, FP 0, FN 1 -> F1 2/3, recall 1/2
    pooled = pool_predictions(files, dict(type='MERMetric'))
    assert pooled['mer/UF1'] == pytest.approx(100 * 2 / 3)
    assert pooled['mer/UAR'] == pytest.approx(100 * (2 / 3 + 1 + 0.5) / 3)
    # Per fold the UAR is 75 in both folds (a class absent from a fold is
    # left out), so the mean over folds would report 75, not 72.2.
    folds = {0: {0: {'mer/UAR': 75.0, 'mer/UF1': 100 * 2 / 3},
                 1: {'mer/UAR': 75.0, 'mer/UF1': 100 * 2 / 3}}}
    board = leaderboard_values(aggregate_folds(folds), {0: pooled})
    assert board['uar']['value'] == pytest.approx(72.2222, abs=1e-3)
    assert 'pooled over folds' in board['uar']['from']


def test_loso_adds_mer_metric_to_an_accuracy_evaluator(files):
    only_acc = dict(type='PerClassAccuracy')
    assert 'mer/UF1' not in pool_predictions(files, only_acc)
    pooled = pool_predictions(files, [only_acc, dict(type='DumpResults',
                                                     out_file_path='x')],
                              add_mer=True)
    assert pooled['mer/UF1'] == pytest.approx(100 * 2 / 3)
    assert pooled['fer/top1'] == pytest.approx(100 * 4 / 6)


def test_au_f1_is_the_mean_over_folds_not_pooled():
    # The AU literature averages the fold scores of its 3-fold protocol.
    folds = {0: {k: {'au/mean_f1': v} for k, v in enumerate((60., 62., 70.))}}
    board = leaderboard_values(aggregate_folds(folds),
                               {0: {'au/mean_f1': 10.0}})
    assert board['f1']['value'] == pytest.approx(64.0)
    assert 'mean over folds' in board['f1']['from']
