# Copyright (c) mmfer4d contributors. All rights reserved.
"""Micro-expression recognition metric: UF1 and UAR."""
from typing import List, Sequence

import numpy as np

from mmfer4d.registry import METRICS
from .single_label_metric import BaseSingleLabelMetric
from .utils import class_names, confusion_matrix


def uf1_uar(pred: Sequence[int], gt: Sequence[int],
            num_classes: int) -> dict:
    """Unweighted F1 and unweighted average recall.

    With ``TP_c, FP_c, FN_c`` the counts of class c over all samples,
    ``F1_c = 2 TP_c / (2 TP_c + FP_c + FN_c)`` and
    ``Recall_c = TP_c / (TP_c + FN_c)``; UF1 and UAR are their means over
    classes (MEGC 2019 composite protocol, See et al., "MEGC 2019 - The
    Second Facial Micro-Expressions Grand Challenge", FG 2019). A class
    whose F1 (resp. recall) is 0/0 -- no sample and no prediction (resp. no
    sample) -- is left out of the mean, because its score is undefined.

    Args:
        pred (Sequence[int]): Predicted labels ``(N,)``.
        gt (Sequence[int]): True labels ``(N,)``.
        num_classes (int): Number of classes C.

    Returns:
        dict: ``uf1``, ``uar`` (fractions in [0, 1]), ``f1`` and ``recall``
        (``(C,)`` arrays with NaN for undefined classes) and ``matrix``.
    """
    matrix = confusion_matrix(pred, gt, num_classes)
    tp = np.diag(matrix).astype(np.float64)
    fn = matrix.sum(axis=1) - tp
    fp = matrix.sum(axis=0) - tp
    with np.errstate(invalid='ignore', divide='ignore'):
        f1 = 2 * tp / (2 * tp + fp + fn)
        recall = tp / (tp + fn)
    nan = float('nan')
    return dict(
        uf1=float(np.nanmean(f1)) if np.isfinite(f1).any() else nan,
        uar=float(np.nanmean(recall)) if np.isfinite(recall).any() else nan,
        f1=f1,
        recall=recall,
        matrix=matrix)


@METRICS.register_module()
class MERMetric(BaseSingleLabelMetric):
    """UF1 and UAR of micro-expression recognition.

    **Pooling.** The MER literature (MEGC 2018/2019 composite data set,
    4DME) evaluates with leave-one-subject-out (LOSO) and computes UF1 and
    UAR **once over all test samples pooled across the LOSO folds**, not as
    the mean of per-fold scores. A LOSO fold holds one subject's handful of
    clips, often without some classes, so per-fold F1 and recall are
    undefined or extreme for those classes and a mean over folds would be
    dominated by such noise; pooling gives every sample equal weight and
    every class a well-defined score. Within one fold's test run this metric
    computes over that fold's samples only (useful for monitoring); the
    k-fold runner (``tools/kfold.py``, :func:`mmfer4d.apis.run_kfold`)
    dumps every fold's predictions and evaluates this same metric again on
    their union, which is the number to report.

    Returned keys (after the ``prefix``, ``'mer'`` by default), all in
    percent: ``UF1``, ``UAR``, ``accuracy``, and ``f1_{class}``,
    ``recall_{class}`` per class (NaN when undefined); and the counts
    ``num_scored`` / ``num_skipped`` (clips left out because of broken
    files).

    Args:
        num_classes (int, optional): Number of classes. Defaults to the
            length of the data set's ``classes`` or the width of
            ``pred_score``.
        classes (Sequence[str], optional): Class names. Defaults to the data
            set's ``metainfo['classes']``.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to 'cpu'.
        prefix (str, optional): Key prefix. Defaults to 'mer'.
    """
    default_prefix = 'mer'

    def compute_scored(self, results: List[dict]) -> dict:
        pred = [r['pred_label'] for r in results]
        gt = [r['gt_label'] for r in results]
        num_classes = self._num_classes(results)
        names = class_names(num_classes, self.classes, self.dataset_meta)
        scores = uf1_uar(pred, gt, num_classes)
        metrics = dict(
            UF1=100.0 * scores['uf1'],
            UAR=100.0 * scores['uar'],
            accuracy=100.0 * float(np.mean(np.asarray(pred) == gt)))
        for name, f1, rec in zip(names, scores['f1'], scores['recall']):
            metrics[f'f1_{name}'] = 100.0 * float(f1)
            metrics[f'recall_{name}'] = 100.0 * float(rec)
        return metrics
