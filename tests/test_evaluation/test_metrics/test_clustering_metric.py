# Copyright (c) mmfer4d contributors. All rights reserved.
import numpy as np
import pytest
import torch

from mmfer4d.evaluation import ClusteringMetric, cluster_accuracy


def test_hungarian_on_permuted_labels():
    labels = [0, 0, 1, 1, 2, 2]
    assert cluster_accuracy([2, 2, 0, 0, 1, 1], labels) == pytest.approx(1.0)
    # One sample moved: best matching 2->0, 1->2, 0->1 gives 5/6, while the
    # identity map would give 1/6.
    assert cluster_accuracy([2, 2, 0, 1, 1, 1], labels) == pytest.approx(5 / 6)


def test_more_clusters_than_classes():
    assert cluster_accuracy([0, 1, 2, 3], [0, 0, 1, 1]) == pytest.approx(0.5)


def test_pred_label_mode():
    metric = ClusteringMetric(mode='pred_label')
    metric.process(None, [
        dict(gt_label=torch.tensor([g]), pred_label=torch.tensor([p]))
        for g, p in zip([0, 0, 1, 1, 2, 2], [2, 2, 0, 0, 1, 1])
    ])
    out = metric.evaluate(6)
    assert out['cluster/acc'] == pytest.approx(100.0)
    assert out['cluster/nmi'] == pytest.approx(100.0)


def test_kmeans_mode_separated_embeddings():
    rng = np.random.default_rng(0)
    centers = np.eye(4)[:3] * 10
    samples = []
    for label in [0, 1, 2] * 5:
        emb = centers[label] + 0.1 * rng.standard_normal(4)
        samples.append(dict(gt_label=torch.tensor([label]),
                            embedding=torch.tensor(emb)))
    metric = ClusteringMetric(n_init=2)
    metric.dataset_meta = dict(classes=('a', 'b', 'c'))
    metric.process(None, samples)
    out = metric.evaluate(len(samples))
    assert out['cluster/acc'] == pytest.approx(100.0)
    assert out['cluster/nmi'] == pytest.approx(100.0)


def test_errors():
    with pytest.raises(ValueError, match='mode'):
        ClusteringMetric(mode='spectral')
    with pytest.raises(KeyError, match='embedding'):
        ClusteringMetric().process(None, [dict(gt_label=torch.tensor([0]))])
    with pytest.raises(ValueError, match='equal'):
        cluster_accuracy([0], [0, 1])


def test_skipped_samples_are_counted():
    metric = ClusteringMetric(mode='pred_label')
    samples = [dict(pred_label=torch.tensor([p]), gt_label=torch.tensor([g]))
               for p, g in [(1, 0), (1, 0), (0, 1)]]
    metric.process(dict(skipped_samples=[dict(index=3)]), samples)
    out = metric.evaluate(4)
    assert out['cluster/acc'] == pytest.approx(100.0)
    assert (out['cluster/num_scored'], out['cluster/num_skipped']) == (3, 1)


def test_empty_input_is_an_error_not_a_score():
    # No sample has no accuracy: 0 (what the hook's own copy returned)
    # would read as a failed clustering.
    with pytest.raises(ValueError, match='non-empty'):
        cluster_accuracy([], [])
    with pytest.raises(ValueError, match='non-empty'):
        cluster_accuracy(np.array([], dtype=np.int64),
                         np.array([], dtype=np.int64))
    # The metric reports no acc/nmi for a test set with no sample scored.
    metric = ClusteringMetric(mode='pred_label')
    out = metric.compute_metrics([])
    assert 'acc' not in out and 'nmi' not in out
