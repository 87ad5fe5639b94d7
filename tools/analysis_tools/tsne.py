# Copyright (c) mmfer4d contributors. All rights reserved.
"""t-SNE of the fused embeddings of a test run, by class and by subject.

Example::

    python tools/test.py CONFIG CKPT --out preds.pkl
    python tools/analysis_tools/tsne.py preds.pkl --out-png tsne.png

The predictions pickle(s) must hold the ``embedding`` field (SMILE-VLM's
predict mode sets it) besides ``gt_label``; ``subject`` colours the second
panel. The legend names the classes as ``confusion_matrix.py`` does:
``--classes``, else the names in the samples, with ``--config`` for the
rest.
"""
import argparse
import pickle
import sys

import numpy as np

from mmfer4d.evaluation.metrics.utils import to_label, to_numpy
from mmfer4d.visualization import (classes_from_config,
                                   plot_embedding_tsne, resolve_class_names)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('inputs', nargs='+', help='predictions .pkl file(s)')
    parser.add_argument('--out-png', default='tsne.png')
    parser.add_argument('--classes', nargs='+', help='class names')
    parser.add_argument('--config', help='read the class names of its '
                        'data set (for classes no sample shows)')
    parser.add_argument('--perplexity', type=float, default=30.0)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--max-iter', type=int, default=1000)
    return parser.parse_args(argv)


def load_embeddings(inputs, classes=None, fallback=None):
    """``(embeddings (N, D), labels (N,), subjects (N,) or None, names)``.

    ``names`` are the class names (see :func:`resolve_class_names`).

    Raises:
        ValueError: If a sample lacks ``embedding``.
    """
    emb, labels, subjects, everything = [], [], [], []
    for path in inputs:
        with open(path, 'rb') as f:
            samples = pickle.load(f)
        everything += samples
        for i, s in enumerate(samples):
            if s.get('embedding') is None:
                raise ValueError(f'{path}: sample {i} has no "embedding" '
                                 'field; test a model whose predict mode '
                                 'returns it')
            emb.append(to_numpy(s['embedding']).reshape(-1))
            labels.append(to_label(s['gt_label']))
            subjects.append(s.get('subject'))
    subjects = None if any(s is None for s in subjects) else subjects
    num = max([max(labels) + 1] + [len(n) for n in (classes, fallback) if n])
    names = resolve_class_names(num, everything, classes, fallback)
    return np.stack(emb), labels, subjects, names


def main(argv=None):
    args = parse_args(argv)
    try:
        fallback = classes_from_config(args.config) if args.config \
            else None
        emb, labels, subjects, names = load_embeddings(
            args.inputs, args.classes, fallback)
        plot_embedding_tsne(emb, labels, subjects, args.out_png, names,
                            args.perplexity, args.seed, args.max_iter)
    except (OSError, ValueError) as err:
        print(f'tsne: {err}', file=sys.stderr)
        return 2
    print(f't-SNE of {len(emb)} embeddings written to {args.out_png}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
