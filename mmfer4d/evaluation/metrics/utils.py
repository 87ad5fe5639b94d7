# Copyright (c) mmfer4d contributors. All rights reserved.
"""Helpers shared by the mmfer4d metrics."""
import warnings
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
import torch

from mmfer4d.datasets.skipped_sample import skipped_records


def to_numpy(value: Any) -> np.ndarray:
    """A tensor, array, number or sequence as a NumPy array (on CPU)."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def to_label(value: Any) -> int:
    """A label stored as int, 0-d or ``(1,)`` tensor/array, as int.

    Raises:
        ValueError: If ``value`` holds more than one element.
    """
    array = to_numpy(value).reshape(-1)
    if array.size != 1:
        raise ValueError(
            f'expected a single label, got an array of shape {array.shape}')
    return int(array[0])


def predicted_label(sample: dict) -> int:
    """``argmax(pred_score)`` when present, else ``pred_label``.

    Raises:
        KeyError: If the sample has neither field.
    """
    if sample.get('pred_score') is not None:
        return int(to_numpy(sample['pred_score']).reshape(-1).argmax())
    if sample.get('pred_label') is not None:
        return to_label(sample['pred_label'])
    raise KeyError('the data sample has neither "pred_score" nor '
                   '"pred_label"; is the model in predict mode?')


def class_names(num_classes: int,
                classes: Optional[Sequence[str]] = None,
                dataset_meta: Optional[dict] = None) -> list:
    """Class names from the argument, the data set's metainfo, or indices."""
    if classes is None and dataset_meta:
        classes = dataset_meta.get('classes')
    if classes is None:
        return [str(i) for i in range(num_classes)]
    classes = list(classes)
    if len(classes) < num_classes:
        raise ValueError(f'{len(classes)} class names given for labels up to '
                         f'{num_classes - 1}: {classes}')
    return classes


def confusion_matrix(pred: Sequence[int], gt: Sequence[int],
                     num_classes: int) -> np.ndarray:
    """Counts ``M[g, p]`` of samples of true class g predicted as p.

    Returns:
        np.ndarray: ``(C, C)`` int64, rows = ground truth, columns =
        prediction.
    """
    pred = np.asarray(pred, dtype=np.int64)
    gt = np.asarray(gt, dtype=np.int64)
    return np.bincount(
        gt * num_classes + pred,
        minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def add_skipped(results: List[dict], data_batch: Any) -> None:
    """Append one ``{'skipped': record}`` per sample skipped in a batch.

    A skipped sample (broken file, ``skip_broken=True``) keeps its place
    among a metric's results, so that the results still number one per test
    sample (mmengine truncates the gathered results to the data set's size)
    and the metric can say how many it scored and how many it skipped.
    """
    for record in skipped_records(data_batch):
        results.append(dict(skipped=record))


def split_skipped(results: Sequence[dict], owner: str
                  ) -> Tuple[List[dict], dict]:
    """The scored results and the ``num_scored`` / ``num_skipped`` counts.

    Warns when every sample was skipped (the metric has nothing to score).
    """
    scored = [r for r in results if 'skipped' not in r]
    counts = dict(num_scored=len(scored),
                  num_skipped=len(results) - len(scored))
    if not scored and counts['num_skipped']:
        warnings.warn(f'{owner}: all {counts["num_skipped"]} test samples '
                      'were skipped (broken files); nothing to score')
    return scored, counts
