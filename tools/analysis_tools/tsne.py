# Copyright (c) mmfer4d contributors. All rights reserved.
"""t-SNE of the fused embeddings of a test run, by class and by subject.

Example::

    python tools/test.py CONFIG CKPT --out preds.pkl
    python tools/analysis_tools/tsne.py preds.pkl --out-png tsne.png

The predictions pickle(s) must hold the ``embedding`` field (SMILE-VLM's
predict mode sets it) besides ``gt_label``; ``subject`` colours the second
panel.
"""
import argparse
import pickle
import sys

import numpy as np

from mmfer4d.evaluation.metrics.utils import to_label, to_numpy
from mmfer4d.visualization import plot_embedding_tsne


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('inputs', nargs='+', help='predictions .pkl file(s)')
    parser.add_argument('--out-png', default='tsne.png')
    parser.add_argument('--classes', nargs='+', help='class names')
    parser.add_argument('--perplexity', type=float, default=30.0)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--max-iter', type=int, default=1000)
    return parser.parse_args(argv)


def load_embeddings(inputs):
    """``(embeddings (N, D), labels (N,), subjects (N,) or None)``.

    Raises:
        ValueError: If a sample lacks ``embedding``.
    """
    emb, labels, subjects = [], [], []
    for path in inputs:
        with open(path, 'rb') as f:
            samples = pickle.load(f)
        for i, s in enumerate(samples):
            if s.get('embedding') is None:
                raise ValueError(f'{path}: sample {i} has no "embedding" '
                                 'field; test a model whose predict mode '
                                 'returns it')
            emb.append(to_numpy(s['embedding']).reshape(-1))
            labels.append(to_label(s['gt_label']))
            subjects.append(s.get('subject'))
    subjects = None if any(s is None for s in subjects) else subjects
    return np.stack(emb), labels, subjects


def main(argv=None):
    args = parse_args(argv)
    try:
        emb, labels, subjects = load_embeddings(args.inputs)
        plot_embedding_tsne(emb, labels, subjects, args.out_png,
                            args.classes, args.perplexity, args.seed,
                            args.max_iter)
    except (OSError, ValueError) as err:
        print(f'tsne: {err}', file=sys.stderr)
        return 2
    print(f't-SNE of {len(emb)} embeddings written to {args.out_png}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
