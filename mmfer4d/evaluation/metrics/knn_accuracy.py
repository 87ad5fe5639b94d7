# Copyright (c) mmfer4d contributors. All rights reserved.
"""k-NN accuracy of embeddings across held-out subjects."""
import warnings
from typing import List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from mmfer4d.registry import METRICS
from .subject_normalization import normalize_per_subject
from .utils import add_skipped, split_skipped, to_label, to_numpy


def knn_predict(embeddings: np.ndarray,
                labels: Sequence[int],
                groups: Optional[Sequence] = None,
                k: int = 10,
                temperature: float = 0.07) -> np.ndarray:
    """Leave-one-group-out weighted k-NN labels of L2-normalised rows.

    Every row is classified by its ``k`` nearest rows (cosine similarity
    ``s``) outside its own group (its subject: no neighbour shares the
    face), each voting for its label with weight ``exp(s / temperature)``,
    the weighted k-NN of Wu et al., "Unsupervised Feature Learning via
    Non-Parametric Instance Discrimination", CVPR 2018.

    Args:
        embeddings (np.ndarray): ``(N, D)``; L2-normalised here.
        labels (Sequence[int]): ``(N,)`` labels >= 0 of the neighbours.
        groups (Sequence, optional): ``(N,)`` group (subject) ids; None
            leaves only the row itself out. Defaults to None.
        k (int): Neighbours. Defaults to 10.
        temperature (float): Vote temperature. Defaults to 0.07.

    Returns:
        np.ndarray: ``(N,)`` int64 predicted labels.

    Raises:
        ValueError: On ``k < 1``, ``temperature <= 0``, mismatched
            lengths, or a row with no candidate neighbour.
    """
    if k < 1:
        raise ValueError(f'k must be >= 1, got {k}')
    if temperature <= 0:
        raise ValueError(f'temperature must be > 0, got {temperature}')
    x = np.asarray(embeddings, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    if x.ndim != 2 or x.shape[0] != labels.shape[0]:
        raise ValueError(f'embeddings {x.shape} and {labels.shape[0]} '
                         'labels do not match')
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    sim = x @ x.T
    if groups is None:
        same = np.eye(len(x), dtype=bool)
    else:
        g = np.asarray([str(v) for v in groups])
        if g.shape[0] != len(x):
            raise ValueError(f'{len(x)} embeddings but {g.shape[0]} groups')
        same = g[:, None] == g[None, :]
    candidates = (~same).sum(axis=1)
    if (candidates == 0).any():
        raise ValueError('a sample has no neighbour outside its own group')
    sim = np.where(same, -np.inf, sim)
    k_eff = min(k, int(candidates.min()))
    nn = np.argsort(-sim, axis=1, kind='stable')[:, :k_eff]
    weights = np.exp(
        (np.take_along_axis(sim, nn, axis=1) - 1.0) / temperature)
    votes = np.zeros((len(x), labels.max() + 1))
    np.add.at(votes, (np.arange(len(x))[:, None], labels[nn]), weights)
    return votes.argmax(axis=1).astype(np.int64)


@METRICS.register_module()
class KNNAccuracy(BaseMetric):
    """Weighted k-NN accuracy of the embeddings, across subjects.

    A label-free representation is scored as SSL papers do with a k-NN
    classifier (:func:`knn_predict`), here without a separate bank: every
    test sample is classified by its neighbours among the *other*
    held-out subjects' test samples, so a representation that groups
    identity gains nothing. Labels are used only to score.

    Returned keys (after the prefix, ``'knn'`` by default): ``acc`` (%;
    NaN, with a warning, when the test set holds a single subject),
    ``num_scored``, ``num_skipped``.

    Args:
        k (int): Neighbours. Defaults to 10.
        temperature (float): Vote temperature. Defaults to 0.07.
        subject_norm (bool): Remove every subject's mean embedding first
            (:func:`~mmfer4d.evaluation.metrics.normalize_per_subject`;
            subject ids, no labels). Defaults to False.
        collect_device (str): Defaults to 'cpu'.
        prefix (str, optional): Defaults to 'knn'.

    Raises:
        ValueError: On ``k < 1`` or ``temperature <= 0``.
        KeyError: (in :meth:`process`) If a sample lacks ``embedding`` or
            ``subject``.
    """
    default_prefix = 'knn'

    def __init__(self,
                 k: int = 10,
                 temperature: float = 0.07,
                 subject_norm: bool = False,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if k < 1:
            raise ValueError(f'k must be >= 1, got {k}')
        if temperature <= 0:
            raise ValueError(f'temperature must be > 0, got {temperature}')
        self.k = k
        self.temperature = temperature
        self.subject_norm = subject_norm

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        add_skipped(self.results, data_batch)
        for sample in data_samples:
            for field in ('embedding', 'subject'):
                if sample.get(field) is None:
                    raise KeyError(f'KNNAccuracy needs the field "{field}" '
                                   'in every data sample')
            self.results.append(
                dict(value=to_numpy(sample['embedding']).astype(
                    np.float32).reshape(-1),
                     gt_label=to_label(sample['gt_label']),
                     subject=sample['subject']))

    def compute_metrics(self, results: List[dict]) -> dict:
        results, counts = split_skipped(results, type(self).__name__)
        if not results:
            return counts
        x = np.stack([r['value'] for r in results])
        labels = np.array([r['gt_label'] for r in results])
        subjects = [r['subject'] for r in results]
        if self.subject_norm:
            x = normalize_per_subject(x, subjects)
        if len({str(v) for v in subjects}) < 2:
            warnings.warn('KNNAccuracy: the test set holds one subject, so '
                          'no sample has a neighbour of another subject; '
                          'acc is NaN')
            return dict(acc=float('nan'), **counts)
        pred = knn_predict(x, labels, subjects, self.k, self.temperature)
        return dict(acc=100.0 * float((pred == labels).mean()), **counts)
