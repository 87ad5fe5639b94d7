# Copyright (c) mmfer4d contributors. All rights reserved.
"""Action unit detection metric: per-AU F1, mean F1, occurrence rates."""
from typing import List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from mmfer4d.registry import METRICS
from .utils import to_numpy


@METRICS.register_module()
class AUDetectionMetric(BaseMetric):
    """Multi-label action unit (AU) detection: F1 per AU and their mean.

    The AU detection literature (BP4D, BP4D+, DISFA; e.g. Zhao et al.,
    "Deep Region and Multi-label Learning for Facial Action Unit
    Detection", CVPR 2016) reports, for each AU, the frame-level F1 of the
    binary occurrence decision over all test samples,
    ``F1 = 2 TP / (2 TP + FP + FN)``, and the mean of these F1 over AUs.

    Reads from each data sample ``gt_au`` (``(A,)`` float 0/1; negative
    values mark unknown labels, left out of that AU's counts) and either
    ``pred_au_score`` (``(A,)`` probabilities, thresholded at
    ``threshold``) or ``pred_au`` (``(A,)`` 0/1). Samples without
    ``gt_au`` are skipped.

    Returned keys (after the ``prefix``, ``'au'`` by default), in percent:
    ``mean_f1`` (mean over AUs whose F1 is defined), ``f1_{AU}`` (NaN when
    an AU has no positive label and no positive prediction),
    ``occurrence_{AU}`` (rate of positive labels, the base rate that makes
    F1 hard to read without it) and ``pred_occurrence_{AU}``.

    Args:
        au_names (Sequence[str], optional): AU names. Defaults to the data
            set's ``metainfo['au_names']``, else ``AU0, AU1, ...`` by index.
        threshold (float): Score above which (``>=``) an AU counts as
            present. Defaults to 0.5.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to 'cpu'.
        prefix (str, optional): Key prefix. Defaults to 'au'.

    Raises:
        KeyError: (in :meth:`process`) If a sample with ``gt_au`` has
            neither ``pred_au_score`` nor ``pred_au``.
        ValueError: (in :meth:`compute_metrics`) If no sample had ``gt_au``,
            or the AU counts differ between samples or from ``au_names``.
    """
    default_prefix = 'au'

    def __init__(self,
                 au_names: Optional[Sequence[str]] = None,
                 threshold: float = 0.5,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.au_names = None if au_names is None else list(au_names)
        self.threshold = threshold

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if sample.get('gt_au') is None:
                continue
            gt = to_numpy(sample['gt_au']).astype(np.float64).reshape(-1)
            if sample.get('pred_au_score') is not None:
                pred = to_numpy(sample['pred_au_score']).reshape(-1) \
                    >= self.threshold
            elif sample.get('pred_au') is not None:
                pred = to_numpy(sample['pred_au']).reshape(-1) > 0
            else:
                raise KeyError(
                    'AUDetectionMetric: a data sample has "gt_au" but '
                    'neither "pred_au_score" nor "pred_au"')
            self.results.append(dict(gt=gt, pred=pred.astype(bool)))

    def compute_metrics(self, results: List[dict]) -> dict:
        if not results:
            raise ValueError('AUDetectionMetric: no test sample has "gt_au"')
        sizes = {r['gt'].size for r in results} | \
            {r['pred'].size for r in results}
        if len(sizes) != 1:
            raise ValueError(
                f'AUDetectionMetric: AU vectors of different lengths {sizes}')
        gt = np.stack([r['gt'] for r in results])  # (N, A)
        pred = np.stack([r['pred'] for r in results])  # (N, A)
        num_aus = gt.shape[1]
        names = self.au_names
        if names is None and self.dataset_meta:
            names = self.dataset_meta.get('au_names')
        names = [f'AU{i}' for i in range(num_aus)] if names is None \
            else list(names)
        if len(names) != num_aus:
            raise ValueError(f'AUDetectionMetric: {len(names)} AU names for '
                             f'{num_aus} AU labels per sample')
        known = gt >= 0
        positive = (gt > 0) & known
        tp = (pred & positive).sum(0).astype(np.float64)
        fp = (pred & ~positive & known).sum(0).astype(np.float64)
        fn = (~pred & positive).sum(0).astype(np.float64)
        with np.errstate(invalid='ignore', divide='ignore'):
            f1 = 2 * tp / (2 * tp + fp + fn)
            occurrence = positive.sum(0) / known.sum(0)
            pred_occurrence = (pred & known).sum(0) / known.sum(0)
        metrics = dict(
            mean_f1=100.0 * float(np.nanmean(f1))
            if np.isfinite(f1).any() else float('nan'))
        for i, name in enumerate(names):
            metrics[f'f1_{name}'] = 100.0 * float(f1[i])
        for i, name in enumerate(names):
            metrics[f'occurrence_{name}'] = 100.0 * float(occurrence[i])
            metrics[f'pred_occurrence_{name}'] = \
                100.0 * float(pred_occurrence[i])
        return metrics
