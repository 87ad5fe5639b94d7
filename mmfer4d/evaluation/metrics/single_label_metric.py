# Copyright (c) mmfer4d contributors. All rights reserved.
"""Shared collection step of the single-label expression metrics."""
from typing import List, Optional, Sequence

from mmengine.evaluator import BaseMetric

from .utils import add_skipped, predicted_label, split_skipped, to_label


class BaseSingleLabelMetric(BaseMetric):
    """Collects one predicted and one true class per sample.

    Subclasses implement :meth:`compute_scored` over the collected dicts
    ``{pred_label, gt_label, num_scores, intensity}`` of the scored
    samples. Samples skipped because of a broken file (the
    ``skipped_samples`` of the batch, see :func:`skip_broken_collate`) are
    counted, not scored: every metric returns ``num_scored`` and
    ``num_skipped`` besides its scores (only the counts when all were
    skipped).

    Args:
        num_classes (int, optional): Number of classes. Defaults to the
            length of ``classes``, of the data set's ``classes``, or the
            width of ``pred_score``.
        classes (Sequence[str], optional): Class names. Defaults to the data
            set's ``metainfo['classes']``.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to 'cpu'.
        prefix (str, optional): Key prefix. Defaults to the subclass's
            ``default_prefix``.
    """

    def __init__(self,
                 num_classes: Optional[int] = None,
                 classes: Optional[Sequence[str]] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.num_classes = num_classes
        self.classes = None if classes is None else list(classes)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        add_skipped(self.results, data_batch)
        for sample in data_samples:
            width = None
            if sample.get('pred_score') is not None:
                width = int(sample['pred_score'].shape[-1])
            intensity = sample.get('intensity', None)
            self.results.append(
                dict(
                    pred_label=predicted_label(sample),
                    gt_label=to_label(sample['gt_label']),
                    num_scores=width,
                    intensity=None if intensity is None else int(intensity)))

    def _num_classes(self, results: List[dict]) -> int:
        """The argument, the class names, or the widest score / label."""
        if self.num_classes is not None:
            return self.num_classes
        if self.classes is not None:
            return len(self.classes)
        if self.dataset_meta and self.dataset_meta.get('classes'):
            return len(self.dataset_meta['classes'])
        widths = [r['num_scores'] for r in results if r['num_scores']]
        labels = [max(r['pred_label'], r['gt_label']) + 1 for r in results]
        return max(widths + labels)

    def compute_metrics(self, results: List[dict]) -> dict:
        scored, counts = split_skipped(results, type(self).__name__)
        metrics = self.compute_scored(scored) if scored else {}
        metrics.update(counts)
        return metrics

    def compute_scored(self, results: List[dict]) -> dict:
        """The scores over the samples that were not skipped."""
        raise NotImplementedError
