# Copyright (c) mmfer4d contributors. All rights reserved.
import numpy as np
import pytest
import torch

from mmfer4d.evaluation import (KNNAccuracy, knn_predict,
                                normalize_per_subject)


def identity_dominated(num_subjects=6, classes=3, seed=0):
    """Embeddings = big subject offset + small expression direction."""
    rng = np.random.default_rng(seed)
    dim = 16
    identity = 5.0 * rng.standard_normal((num_subjects, dim))
    expression = np.eye(dim)[:classes]
    x, labels, subjects = [], [], []
    for s in range(num_subjects):
        for c in range(classes):
            x.append(identity[s] + expression[c] +
                     0.05 * rng.standard_normal(dim))
            labels.append(c)
            subjects.append(f'S{s:02d}')
    return np.stack(x), np.array(labels), subjects


def test_knn_by_hand():
    # 1-D points on the circle: angles 0, 0.1 (class 0), pi/2, pi/2+0.1
    # (class 1); each point's nearest other point is its own class.
    a = np.array([0.0, 0.1, np.pi / 2, np.pi / 2 + 0.1])
    x = np.stack([np.cos(a), np.sin(a)], 1)
    assert knn_predict(x, [0, 0, 1, 1], k=1).tolist() == [0, 0, 1, 1]
    # With groups = the classes, no neighbour shares a point's class.
    assert knn_predict(x, [0, 0, 1, 1], groups=[0, 0, 1, 1],
                       k=1).tolist() == [1, 1, 0, 0]


def test_weighted_vote_prefers_close_neighbours():
    # Query at angle 0: one class-1 neighbour at 0.01 rad, two class-0
    # ones at 1.2 rad; weights exp(s / 0.07) let the close one win, a
    # plain majority (huge temperature) the two far ones.
    a = np.array([0.0, 0.01, 1.2, -1.2])
    x = np.stack([np.cos(a), np.sin(a)], 1)
    labels = [0, 1, 0, 0]
    assert knn_predict(x, labels, k=3)[0] == 1
    assert knn_predict(x, labels, k=3, temperature=1e3)[0] == 0


def test_subject_normalisation_removes_identity():
    x, labels, subjects = identity_dominated()
    raw = knn_predict(x, labels, subjects, k=1)
    norm = knn_predict(normalize_per_subject(x, subjects), labels, subjects,
                       k=1)
    assert (norm == labels).mean() == 1.0
    assert (raw == labels).mean() < 0.7


def test_normalize_per_subject_values():
    x = np.array([[2., 0.], [0., 3.], [1., 0.]])
    z = normalize_per_subject(x, ['a', 'a', 'b'], l2=False)
    # Rows on the unit circle, then minus their subject's mean.
    np.testing.assert_allclose(z, [[0.5, -0.5], [-0.5, 0.5], [0., 0.]])
    z = normalize_per_subject(x, ['a', 'a', 'b'])
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), [1., 1., 0.])
    with pytest.raises(ValueError, match='subject ids'):
        normalize_per_subject(x, ['a'])
    with pytest.raises(ValueError, match=r'\(N, D\)'):
        normalize_per_subject(x[0], ['a', 'b'])


def test_metric_scores_across_subjects():
    x, labels, subjects = identity_dominated()
    samples = [
        dict(embedding=torch.tensor(e), gt_label=torch.tensor([c]),
             subject=s) for e, c, s in zip(x, labels, subjects)
    ]
    for subject_norm, expect_perfect in ((True, True), (False, False)):
        metric = KNNAccuracy(k=1, subject_norm=subject_norm)
        metric.process(None, samples)
        out = metric.evaluate(len(samples))
        assert (out['knn/acc'] == pytest.approx(100.0)) == expect_perfect
        assert out['knn/num_scored'] == len(samples)


def test_errors():
    with pytest.raises(ValueError, match='k must'):
        KNNAccuracy(k=0)
    with pytest.raises(ValueError, match='temperature'):
        knn_predict(np.eye(2), [0, 1], temperature=0)
    with pytest.raises(ValueError, match='no neighbour'):
        knn_predict(np.eye(2), [0, 1], groups=['a', 'a'])
    with pytest.raises(KeyError, match='subject'):
        KNNAccuracy().process(None, [
            dict(embedding=torch.ones(2), gt_label=torch.tensor([0]))
        ])


def test_one_test_subject_gives_nan_with_a_warning():
    metric = KNNAccuracy()
    metric.process(None, [
        dict(embedding=torch.ones(2), gt_label=torch.tensor([c]),
             subject='S0') for c in (0, 1)
    ])
    with pytest.warns(UserWarning, match='one subject'):
        out = metric.evaluate(2)
    assert np.isnan(out['knn/acc'])
