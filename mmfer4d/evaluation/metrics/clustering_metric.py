# Copyright (c) mmfer4d contributors. All rights reserved.
"""Clustering metrics of self-supervised embeddings: ACC and NMI."""
from typing import List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.metrics import normalized_mutual_info_score

from mmfer4d.registry import METRICS
from .subject_normalization import normalize_per_subject
from .utils import add_skipped, split_skipped, to_label, to_numpy


def cluster_accuracy(clusters: Sequence[int], labels: Sequence[int]) -> float:
    """Clustering accuracy under the best one-to-one cluster-class matching.

    ``ACC = max_m (1/N) sum_i [labels_i == m(clusters_i)]`` over one-to-one
    maps m from cluster ids to classes, found with the Hungarian algorithm
    on the ``(K, C)`` contingency table (Xie, Girshick, Farhadi,
    "Unsupervised Deep Embedding for Clustering Analysis", ICML 2016,
    Eq. 10). With more clusters than classes the unmatched clusters count
    as wrong.

    Args:
        clusters (Sequence[int]): Cluster id per sample ``(N,)``, >= 0.
        labels (Sequence[int]): True class per sample ``(N,)``, >= 0.

    Returns:
        float: Accuracy as a fraction in [0, 1].

    Raises:
        ValueError: On inputs of different lengths, empty or negative.
    """
    clusters = np.asarray(clusters, dtype=np.int64).reshape(-1)
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    if clusters.shape != labels.shape or clusters.size == 0:
        raise ValueError(f'cluster_accuracy needs two equal, non-empty '
                         f'lengths, got {clusters.size} and {labels.size}')
    if clusters.min() < 0 or labels.min() < 0:
        raise ValueError('cluster ids and labels must be >= 0')
    table = np.zeros((clusters.max() + 1, labels.max() + 1), dtype=np.int64)
    np.add.at(table, (clusters, labels), 1)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum()) / clusters.size


@METRICS.register_module()
class ClusteringMetric(BaseMetric):
    """Clustering accuracy (Hungarian matching) and NMI of the embeddings.

    Evaluates how well a (self-supervised) representation separates the
    expression classes without a classifier: the ``embedding`` field of the
    data samples (``(D,)``, the fused embedding of the SMILE-VLM model) is
    clustered with k-means (K = number of classes), or the model's
    ``pred_label`` is taken as the cluster id, and the clusters are compared
    with the true classes by :func:`cluster_accuracy` and normalised mutual
    information (scikit-learn's ``normalized_mutual_info_score``,
    arithmetic normalisation).

    Returned keys (after the ``prefix``, ``'cluster'`` by default), in
    percent: ``acc``, ``nmi``; and the counts ``num_scored`` /
    ``num_skipped`` (samples left out because of broken files).

    Args:
        mode (str): ``'kmeans'`` clusters ``embedding``; ``'pred_label'``
            uses the predicted labels as cluster ids. Defaults to 'kmeans'.
        num_clusters (int, optional): K of k-means. Defaults to the number
            of the data set's ``classes``, else of distinct true labels.
        normalize (bool): L2-normalise embeddings before k-means (cosine
            geometry, as contrastive embeddings are trained).
            Defaults to True.
        subject_norm (bool): Remove every (held-out) subject's mean
            embedding before k-means
            (:func:`~mmfer4d.evaluation.metrics.normalize_per_subject`):
            uses the ``subject`` metainfo of the test samples, no labels.
            Defaults to False.
        seed (int): Seed of k-means. Defaults to 0.
        n_init (int): k-means restarts. Defaults to 10.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to 'cpu'.
        prefix (str, optional): Key prefix. Defaults to 'cluster'.

    Raises:
        ValueError: On an unknown ``mode``.
        KeyError: (in :meth:`process`) If the field the mode needs, or
            ``subject`` with ``subject_norm``, is missing from a data
            sample.
    """
    default_prefix = 'cluster'

    def __init__(self,
                 mode: str = 'kmeans',
                 num_clusters: Optional[int] = None,
                 normalize: bool = True,
                 seed: int = 0,
                 n_init: int = 10,
                 subject_norm: bool = False,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if subject_norm and mode != 'kmeans':
            raise ValueError("subject_norm needs mode='kmeans'")
        self.subject_norm = subject_norm
        if mode not in ('kmeans', 'pred_label'):
            raise ValueError(
                f"mode must be 'kmeans' or 'pred_label', got {mode!r}")
        self.mode = mode
        self.num_clusters = num_clusters
        self.normalize = normalize
        self.seed = seed
        self.n_init = n_init

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        add_skipped(self.results, data_batch)
        field = 'embedding' if self.mode == 'kmeans' else 'pred_label'
        for sample in data_samples:
            if sample.get(field) is None:
                raise KeyError(f'ClusteringMetric(mode={self.mode!r}) needs '
                               f'the field "{field}" in every data sample')
            value = to_numpy(sample[field]).astype(np.float32).reshape(-1) \
                if field == 'embedding' else to_label(sample[field])
            if self.subject_norm and sample.get('subject') is None:
                raise KeyError('ClusteringMetric(subject_norm=True) needs '
                               'the "subject" metainfo in every sample')
            self.results.append(
                dict(value=value, gt_label=to_label(sample['gt_label']),
                     subject=sample.get('subject')))

    def compute_metrics(self, results: List[dict]) -> dict:
        results, counts = split_skipped(results, type(self).__name__)
        if not results:
            return counts
        labels = np.array([r['gt_label'] for r in results])
        if self.mode == 'pred_label':
            clusters = np.array([r['value'] for r in results])
        else:
            k = self.num_clusters
            if k is None and self.dataset_meta and \
                    self.dataset_meta.get('classes'):
                k = len(self.dataset_meta['classes'])
            if k is None:
                k = len(np.unique(labels))
            x = np.stack([r['value'] for r in results]).astype(np.float64)
            if self.subject_norm:
                x = normalize_per_subject(x, [r['subject'] for r in results],
                                          l2=self.normalize)
            elif self.normalize:
                x = x / np.maximum(
                    np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
            k = min(k, len(x))
            clusters = KMeans(
                n_clusters=k, n_init=self.n_init,
                random_state=self.seed).fit_predict(x)
        return dict(
            acc=100.0 * cluster_accuracy(clusters, labels),
            nmi=100.0 * float(normalized_mutual_info_score(labels, clusters)),
            **counts)
