# Copyright (c) mmfer4d contributors. All rights reserved.
"""Expression recognition metric: top-1, per-class accuracy, confusion."""
from typing import List, Optional, Sequence

import numpy as np

from mmfer4d.registry import METRICS
from .single_label_metric import BaseSingleLabelMetric
from .utils import class_names, confusion_matrix


@METRICS.register_module()
class PerClassAccuracy(BaseSingleLabelMetric):
    """Top-1 accuracy, per-class accuracy and the confusion matrix.

    The 3D/4D FER literature (BU-3DFE, Bosphorus, BU-4DFE) reports the
    overall top-1 accuracy and the confusion matrix, whose diagonal, read
    row-wise, is the per-class accuracy (the recall of each expression).
    This metric returns all three from one test pass, so that a tool can
    draw the matrix without running the model again.

    Every value is in percent. The predicted class is ``argmax(pred_score)``
    when the data sample has ``pred_score``, else ``pred_label``.

    Returned keys (after the ``prefix``, ``'fer'`` by default):

    - ``top1``: overall accuracy.
    - ``mean_class_acc``: mean of the per-class accuracies over classes
      with at least one test sample (unweighted, so rare classes count as
      much as frequent ones).
    - ``acc_{class}``: accuracy on the samples of each class (NaN when the
      class has no test sample).
    - ``confusion_matrix``: ``(C, C)`` list of lists of int counts,
      ``[true][predicted]``; its class order is the data set's
      ``classes``, also returned as ``classes``.
    - ``acc_intensity_{k}``: accuracy on the samples of intensity level
      ``k`` (the ``intensity`` metainfo: 0 neutral, 1..4 low..highest, as
      in BU-3DFE), for every level present, when ``per_intensity`` is
      True and the samples carry it; ``-1`` (unknown) is left out.
    - ``num_scored`` / ``num_skipped``: test samples scored, and left out
      because their files were broken (``skip_broken=True``); the scores
      are over the scored samples only.

    Args:
        num_classes (int, optional): Number of classes. Defaults to the
            length of ``classes``, of the data set's ``classes``, or the
            width of ``pred_score``.
        classes (Sequence[str], optional): Class names. Defaults to the data
            set's ``metainfo['classes']``.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to 'cpu'.
        prefix (str, optional): Key prefix. Defaults to 'fer'.
        per_intensity (bool): Also report ``acc_intensity_{k}``.
            Defaults to True.

    Examples:
        >>> val_evaluator = dict(type='PerClassAccuracy')
    """
    default_prefix = 'fer'

    def __init__(self,
                 num_classes: Optional[int] = None,
                 classes: Optional[Sequence[str]] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 per_intensity: bool = True) -> None:
        super().__init__(num_classes, classes, collect_device, prefix)
        self.per_intensity = per_intensity

    def compute_scored(self, results: List[dict]) -> dict:
        num_classes = self._num_classes(results)
        pred = [r['pred_label'] for r in results]
        gt = [r['gt_label'] for r in results]
        if max(pred + gt) >= num_classes or min(pred + gt) < 0:
            raise ValueError(
                f'{type(self).__name__}: labels must lie in '
                f'[0, {num_classes}), got {min(pred + gt)}..{max(pred + gt)}')
        names = class_names(num_classes, self.classes, self.dataset_meta)
        matrix = confusion_matrix(pred, gt, num_classes)
        support = matrix.sum(axis=1)
        with np.errstate(invalid='ignore', divide='ignore'):
            per_class = 100.0 * np.diag(matrix) / support
        metrics = dict(
            top1=100.0 * float(np.trace(matrix)) / max(len(results), 1),
            mean_class_acc=float(np.nanmean(per_class))
            if (support > 0).any() else float('nan'))
        for name, acc in zip(names, per_class):
            metrics[f'acc_{name}'] = float(acc)
        if self.per_intensity:
            metrics.update(self._per_intensity(results))
        metrics['confusion_matrix'] = matrix.tolist()
        metrics['classes'] = list(names[:num_classes])
        return metrics

    @staticmethod
    def _per_intensity(results: List[dict]) -> dict:
        """``{acc_intensity_k: accuracy}`` over the levels present."""
        hits, counts = {}, {}
        for r in results:
            level = r.get('intensity')
            if level is None or level < 0:
                continue
            counts[level] = counts.get(level, 0) + 1
            hits[level] = hits.get(level, 0) + int(
                r['pred_label'] == r['gt_label'])
        return {
            f'acc_intensity_{k}': 100.0 * hits[k] / counts[k]
            for k in sorted(counts)
        }
