# Copyright (c) mmfer4d contributors. All rights reserved.
"""Action unit detection metric: per-AU F1, mean F1, occurrence rates."""
from typing import List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from mmfer4d.registry import METRICS
from .utils import add_skipped, split_skipped, to_numpy


@METRICS.register_module()
class AUDetectionMetric(BaseMetric):
    """Multi-label action unit (AU) detection: F1 per AU and their mean.

    The AU detection literature (BP4D, BP4D+, DISFA; e.g. Zhao et al.,
    "Deep Region and Multi-label Learning for Facial Action Unit
    Detection", CVPR 2016) reports, for each AU, the frame-level F1 of the
    binary occurrence decision over all test samples,
    ``F1 = 2 TP / (2 TP + FP + FN)``, and the mean of these F1 over AUs.

    Reads from each data sample ``gt_au`` and either ``pred_au_score``
    (probabilities, thresholded at ``threshold``) or ``pred_au`` (0/1).
    ``gt_au`` is ``(A,)`` for a scan or ``(T, A)`` for the T sampled frames
    of a sequence (BP4D's per-frame coding); negative values mark unknown
    labels, left out of that AU's counts. The prediction is ``(A,)`` or
    ``(T, A)``; an ``(A,)`` prediction for a ``(T, A)`` label is the
    sequence's decision for each of its frames. Every frame is one
    detection, as in the frame-level F1 of the literature. Samples without
    ``gt_au`` are ignored; samples skipped because of a broken file are
    counted in ``num_skipped``.

    Returned keys (after the ``prefix``, ``'au'`` by default), in percent:
    ``mean_f1`` (mean over AUs whose F1 is defined), ``f1_{AU}`` (NaN when
    an AU has no positive label and no positive prediction),
    ``occurrence_{AU}`` (rate of positive labels, the base rate that makes
    F1 hard to read without it) and ``pred_occurrence_{AU}``; and the
    counts ``num_scored`` (samples), ``num_frames`` (frames scored) and
    ``num_skipped``.

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
        ValueError: (in :meth:`process`) If a prediction has neither one
            row nor as many rows as its label; (in :meth:`compute_metrics`)
            if no sample had ``gt_au`` (and none was skipped), or the AU
            counts differ between samples or from ``au_names``.
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
        add_skipped(self.results, data_batch)
        for sample in data_samples:
            if sample.get('gt_au') is None:
                continue
            gt = to_numpy(sample['gt_au']).astype(np.float64)
            gt = gt.reshape(-1, gt.shape[-1]) if gt.ndim else gt.reshape(1, 1)
            if sample.get('pred_au_score') is not None:
                pred = to_numpy(sample['pred_au_score']) >= self.threshold
            elif sample.get('pred_au') is not None:
                pred = to_numpy(sample['pred_au']) > 0
            else:
                raise KeyError(
                    'AUDetectionMetric: a data sample has "gt_au" but '
                    'neither "pred_au_score" nor "pred_au"')
            pred = pred.reshape(-1, pred.shape[-1]) if pred.ndim else \
                pred.reshape(1, 1)
            if pred.shape[0] == 1 and gt.shape[0] > 1:
                pred = np.repeat(pred, gt.shape[0], axis=0)
            if pred.shape[0] != gt.shape[0]:
                raise ValueError(
                    f'AUDetectionMetric: {pred.shape[0]} rows of predictions '
                    f'for {gt.shape[0]} frames of labels')
            self.results.append(dict(gt=gt, pred=pred.astype(bool)))

    def compute_metrics(self, results: List[dict]) -> dict:
        results, counts = split_skipped(results, type(self).__name__)
        if not results:
            if counts['num_skipped']:
                return counts
            raise ValueError('AUDetectionMetric: no test sample has "gt_au"')
        sizes = {r['gt'].shape[1] for r in results} | \
            {r['pred'].shape[1] for r in results}
        if len(sizes) != 1:
            raise ValueError(
                f'AUDetectionMetric: AU vectors of different lengths {sizes}')
        gt = np.concatenate([r['gt'] for r in results])  # (frames, A)
        pred = np.concatenate([r['pred'] for r in results])  # (frames, A)
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
        metrics.update(counts, num_frames=int(gt.shape[0]))
        return metrics
