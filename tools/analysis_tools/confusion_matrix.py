# Copyright (c) mmfer4d contributors. All rights reserved.
"""Confusion-matrix PNG of a test run.

Example::

    python tools/test.py CONFIG CKPT --out preds.pkl
    python tools/analysis_tools/confusion_matrix.py preds.pkl \\
        --classes anger disgust fear happiness sadness surprise \\
        --out-png cm.png
    # or from a k-fold fold's metrics (PerClassAccuracy output):
    python tools/analysis_tools/confusion_matrix.py \\
        work_dirs/x/seed0/fold0/metrics.json --out-png cm.png

The input is a predictions pickle (a list of data-sample dicts with
``gt_label`` and ``pred_score``/``pred_label``) or a JSON file of metrics
holding ``*confusion_matrix`` (and ``*classes``). Several pickles (e.g. the
folds of a k-fold run) are pooled.

The axes show class names: ``--classes``, else the names the samples
carry (our data samples hold their class as ``expression``), with
``--config`` naming the classes no sample shows (its data set's
``metainfo['classes']``); a class nothing names keeps its index.
"""
import argparse
import json
import pickle
import sys

import numpy as np

from mmfer4d.evaluation.metrics.utils import (confusion_matrix,
                                              predicted_label, to_label)
from mmfer4d.visualization import (classes_from_config,
                                   plot_confusion_matrix,
                                   resolve_class_names)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('inputs', nargs='+',
                        help='predictions .pkl file(s) or a metrics .json')
    parser.add_argument('--out-png', default='confusion_matrix.png')
    parser.add_argument('--classes', nargs='+', help='class names')
    parser.add_argument('--config', help='read the class names of its '
                        'data set (for classes no sample shows)')
    parser.add_argument('--counts', action='store_true',
                        help='show counts instead of row percentages')
    return parser.parse_args(argv)


def matrix_from_inputs(inputs, classes=None, fallback=None):
    """``(matrix, names)`` from prediction pickles or a metrics JSON.

    Args:
        inputs (list[str]): Prediction ``.pkl`` files, or one ``.json``.
        classes (list[str], optional): Names given by the user.
        fallback (list[str], optional): Names for classes the samples do
            not name (see :func:`resolve_class_names`).

    Raises:
        ValueError: If a file holds neither predictions nor a matrix.
    """
    if len(inputs) == 1 and inputs[0].endswith('.json'):
        with open(inputs[0]) as f:
            metrics = json.load(f)
        keys = [k for k in metrics if k.endswith('confusion_matrix')]
        if not keys:
            raise ValueError(f'{inputs[0]}: no "*confusion_matrix" entry '
                             '(evaluate with PerClassAccuracy)')
        names = [metrics[k] for k in metrics if k.endswith('/classes')]
        return np.asarray(metrics[keys[0]]), classes or (
            names[0] if names else fallback)
    pred, gt, width, everything = [], [], 0, []
    for path in inputs:
        with open(path, 'rb') as f:
            samples = pickle.load(f)
        if not isinstance(samples, list) or not samples or \
                not isinstance(samples[0], dict) or \
                'gt_label' not in samples[0]:
            raise ValueError(f'{path}: not a list of predicted data samples '
                             'with "gt_label" (tools/test.py --out)')
        everything += samples
        for s in samples:
            pred.append(predicted_label(s))
            gt.append(to_label(s['gt_label']))
            if s.get('pred_score') is not None:
                width = max(width, int(s['pred_score'].shape[-1]))
    num = max([width, max(pred) + 1, max(gt) + 1] +
              ([len(classes)] if classes else []))
    return confusion_matrix(pred, gt, num), resolve_class_names(
        num, everything, classes, fallback)


def main(argv=None):
    args = parse_args(argv)
    try:
        fallback = classes_from_config(args.config) if args.config \
            else None
        matrix, classes = matrix_from_inputs(args.inputs, args.classes,
                                             fallback)
        plot_confusion_matrix(matrix, classes, args.out_png,
                              normalize=not args.counts)
    except (OSError, ValueError) as err:
        print(f'confusion_matrix: {err}', file=sys.stderr)
        return 2
    print(f'Confusion matrix ({matrix.shape[0]} classes, '
          f'{int(matrix.sum())} samples) written to {args.out_png}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
