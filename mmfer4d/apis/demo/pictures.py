# Copyright (c) mmfer4d contributors. All rights reserved.
"""The demo's PNGs: the test renders, a run's confusion matrix and t-SNE."""
import os
import os.path as osp
import pickle
from typing import List, Sequence

import numpy as np

from mmfer4d.apis.kfold import FOLD_PREDICTIONS_FILE

from .run_config import CLASSES

VIEW_NAMES = ('front', 'left', 'right')


def load_predictions(run_dir: str) -> List[dict]:
    """The test predictions a run pickled (``[]`` when there are none).

    The file is the Runner's own ``DumpResults`` output, written by this
    run in this work dir, not an input from elsewhere.
    """
    path = osp.join(run_dir, FOLD_PREDICTIONS_FILE)
    if not osp.isfile(path):
        return []
    with open(path, 'rb') as f:
        return pickle.load(f)


def draw_browse(samples: Sequence[dict], classes: Sequence[str],
                out_file: str) -> str:
    """One row per rendered sample (``RenderMultiView`` output): its views
    x modalities, labelled with class and intensity. Returns ``out_file``.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from mmfer4d.visualization import sample_grid
    grids = [sample_grid(r) for r in samples]
    h, w = grids[0].shape[:2]
    fig, axes = plt.subplots(
        len(grids), 1, figsize=(w / h * 1.6 + 0.5, 1.6 * len(grids)),
        squeeze=False)
    for ax, grid, res in zip(axes[:, 0], grids, samples):
        ax.imshow(grid)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(f'{classes[res["gt_label"]]}\n(level '
                      f'{res.get("intensity", "?")})', fontsize=8)
    mods = ' + '.join(samples[0]['modalities'])
    n_views = len(samples[0]['img']) if not isinstance(
        samples[0]['img'][0], list) else len(samples[0]['img'][0])
    fig.suptitle(f'SyntheticFER3D test subject {samples[0]["subject"]}: '
                 f'{n_views} views ({", ".join(VIEW_NAMES[:n_views])}) x '
                 f'{mods}, {samples[0]["img_shape"][0]} px', fontsize=9)
    fig.tight_layout()
    os.makedirs(osp.dirname(out_file) or '.', exist_ok=True)
    fig.savefig(out_file, dpi=100)
    plt.close(fig)
    return out_file


def draw_pictures(record: dict, work_dir: str) -> dict:
    """``confusion_matrix.png`` (last fold) and ``tsne.png`` (the fused
    test embeddings, when the predictions carry them) of a run, in
    ``work_dir``. Returns the paths by key (``confusion_matrix_png``,
    ``tsne_png``)."""
    from mmfer4d.visualization import (plot_confusion_matrix,
                                       plot_embedding_tsne)
    out = {}
    fold = sorted(record['folds'])[-1]
    metrics = record['folds'][fold]
    classes = metrics.get('fer/classes') or list(CLASSES)
    if metrics.get('fer/confusion_matrix'):
        out['confusion_matrix_png'] = plot_confusion_matrix(
            metrics['fer/confusion_matrix'], classes,
            osp.join(work_dir, 'confusion_matrix.png'),
            title=f'{record["method"]} {record["evaluation"]}, held-out '
            f'subjects (row %)')
    preds = load_predictions(record['run_dir'])
    embs = [p.get('embedding') for p in preds]
    if embs and all(e is not None for e in embs) and len(embs) >= 5:
        emb = np.stack([np.asarray(e, dtype=np.float32) for e in embs])
        labels = [int(np.asarray(p['gt_label']).reshape(-1)[0])
                  for p in preds]
        subjects = [p.get('subject', '?') for p in preds]
        plot_embedding_tsne(
            emb, labels, subjects, osp.join(work_dir, 'tsne.png'),
            classes=classes, perplexity=min(30.0, (len(emb) - 1) / 3.0))
        out['tsne_png'] = osp.join(work_dir, 'tsne.png')
    return out
