# Copyright (c) mmfer4d contributors. All rights reserved.
"""Figures of evaluation results: confusion matrix, t-SNE, bar charts.

Figures are drawn on :class:`matplotlib.figure.Figure` objects with the Agg
canvas, never through ``pyplot``, so they work headless and do not change
the global matplotlib backend of the caller.
"""
import os
import os.path as osp
from typing import Optional, Sequence

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, out_file: str) -> str:
    if osp.dirname(out_file):
        os.makedirs(osp.dirname(out_file), exist_ok=True)
    fig.savefig(out_file, bbox_inches='tight')
    return out_file


def plot_confusion_matrix(matrix,
                          classes: Optional[Sequence[str]] = None,
                          out_file: str = 'confusion_matrix.png',
                          normalize: bool = True,
                          title: str = 'Confusion matrix') -> str:
    """Draw a confusion matrix (rows = true class) as a PNG.

    Args:
        matrix (array-like): ``(C, C)`` counts, ``[true][predicted]``, e.g.
            ``PerClassAccuracy``'s ``confusion_matrix``.
        classes (Sequence[str], optional): Class names. Defaults to indices.
        out_file (str): PNG path. Defaults to 'confusion_matrix.png'.
        normalize (bool): Show row percentages (per-class accuracy on the
            diagonal) instead of counts. Defaults to True.
        title (str): Figure title. Defaults to 'Confusion matrix'.

    Returns:
        str: ``out_file``.

    Raises:
        ValueError: If the matrix is not square or the class names do not
            match its size.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f'confusion matrix must be square, got shape '
                         f'{matrix.shape}')
    num = matrix.shape[0]
    classes = [str(i) for i in range(num)] if classes is None \
        else list(classes)
    if len(classes) != num:
        raise ValueError(f'{len(classes)} class names for a {num}x{num} '
                         'confusion matrix')
    shown = matrix
    if normalize:
        with np.errstate(invalid='ignore', divide='ignore'):
            shown = 100.0 * matrix / matrix.sum(axis=1, keepdims=True)
        shown = np.nan_to_num(shown)
    size = max(4.0, 0.7 * num + 2)
    fig = _new_figure(size + 1, size)
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(shown, cmap='Blues', vmin=0,
                      vmax=100 if normalize else max(shown.max(), 1))
    fig.colorbar(image, ax=ax, label='% of true class' if normalize
                 else 'samples')
    ax.set_xticks(range(num), classes, rotation=45, ha='right')
    ax.set_yticks(range(num), classes)
    ax.set_xlabel('Predicted')
    ax.set_ylabel('True')
    ax.set_title(title)
    threshold = shown.max() / 2 if shown.size else 0
    for i in range(num):
        for j in range(num):
            text = f'{shown[i, j]:.1f}' if normalize else \
                f'{int(matrix[i, j])}'
            ax.text(j, i, text, ha='center', va='center', fontsize=8,
                    color='white' if shown[i, j] > threshold else 'black')
    return _save(fig, out_file)


def tsne_embedding(embeddings,
                   perplexity: float = 30.0,
                   seed: int = 0,
                   max_iter: int = 1000) -> np.ndarray:
    """2-D t-SNE of embeddings (scikit-learn's ``TSNE``, PCA init).

    Args:
        embeddings (array-like): ``(N, D)`` embeddings.
        perplexity (float): t-SNE perplexity, clipped to ``(N - 1) / 3`` for
            small N. Defaults to 30.
        seed (int): Random seed. Defaults to 0.
        max_iter (int): Optimisation steps (>= 250). Defaults to 1000.

    Returns:
        np.ndarray: ``(N, 2)`` coordinates.

    Raises:
        ValueError: With fewer than 3 samples or a non 2-D input.
    """
    from sklearn.manifold import TSNE
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2 or len(x) < 3:
        raise ValueError(f't-SNE needs (N >= 3, D) embeddings, got shape '
                         f'{x.shape}')
    perplexity = float(min(perplexity, max((len(x) - 1) / 3.0, 1.0)))
    return TSNE(
        n_components=2, perplexity=perplexity, init='pca',
        random_state=seed, max_iter=max_iter).fit_transform(x)


def _scatter(ax, coords, groups, names, title):
    keys = sorted(set(groups), key=str)
    colors = matplotlib.colormaps['tab10' if len(keys) <= 10 else 'tab20']
    for i, key in enumerate(keys):
        mask = np.array([g == key for g in groups])
        label = names[key] if names is not None and isinstance(
            key, (int, np.integer)) and 0 <= key < len(names) else str(key)
        ax.scatter(coords[mask, 0], coords[mask, 1], s=12,
                   color=colors(i % colors.N), label=label)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    if len(keys) <= 20:
        ax.legend(fontsize=7, markerscale=1.5, loc='best')


def plot_embedding_tsne(embeddings,
                        labels: Sequence[int],
                        subjects: Optional[Sequence] = None,
                        out_file: str = 'tsne.png',
                        classes: Optional[Sequence[str]] = None,
                        perplexity: float = 30.0,
                        seed: int = 0,
                        max_iter: int = 1000) -> np.ndarray:
    """t-SNE of fused embeddings coloured by class and, beside, by subject.

    A subject-independent representation shows clusters by class that mix
    subjects; clusters by subject reveal identity leaking into the
    embedding.

    Args:
        embeddings (array-like): ``(N, D)`` fused embeddings (the
            ``embedding`` field of predicted DataSamples).
        labels (Sequence[int]): ``(N,)`` true classes.
        subjects (Sequence, optional): ``(N,)`` subject ids; when given, a
            second panel is coloured by subject.
        out_file (str): PNG path. Defaults to 'tsne.png'.
        classes (Sequence[str], optional): Class names for the legend.
        perplexity (float): t-SNE perplexity. Defaults to 30.
        seed (int): Random seed. Defaults to 0.
        max_iter (int): t-SNE optimisation steps. Defaults to 1000.

    Returns:
        np.ndarray: ``(N, 2)`` t-SNE coordinates.
    """
    coords = tsne_embedding(embeddings, perplexity, seed, max_iter)
    labels = [int(v) for v in labels]
    if len(labels) != len(coords):
        raise ValueError(f'{len(labels)} labels for {len(coords)} embeddings')
    panels = 1 if subjects is None else 2
    fig = _new_figure(6 * panels, 5.5)
    _scatter(fig.add_subplot(1, panels, 1), coords, labels,
             None if classes is None else list(classes), 'By class')
    if subjects is not None:
        subjects = [str(s) for s in subjects]
        _scatter(fig.add_subplot(1, panels, 2), coords, subjects, None,
                 'By subject')
    fig.suptitle('t-SNE of fused embeddings')
    _save(fig, out_file)
    return coords


def plot_bar_chart(names: Sequence[str],
                   values: Sequence[float],
                   out_file: str,
                   errors: Optional[Sequence[Optional[float]]] = None,
                   highlight: Optional[Sequence[bool]] = None,
                   ylabel: str = '',
                   title: str = '') -> str:
    """Horizontal bar chart (first item on top), highlighted bars in orange.

    Args:
        names (Sequence[str]): Bar labels.
        values (Sequence[float]): Bar lengths.
        out_file (str): PNG path.
        errors (Sequence[float | None], optional): Error bar half-widths.
        highlight (Sequence[bool], optional): Bars to colour differently
            (our results among published ones).
        ylabel (str): Value axis label. Defaults to ''.
        title (str): Figure title. Defaults to ''.

    Returns:
        str: ``out_file``.
    """
    num = len(names)
    if len(values) != num:
        raise ValueError(f'{num} names for {len(values)} values')
    highlight = list(highlight) if highlight is not None else [False] * num
    xerr = None
    if errors is not None and any(e is not None for e in errors):
        xerr = [0.0 if e is None else float(e) for e in errors]
    fig = _new_figure(8, max(2.0, 0.45 * num + 1.2))
    ax = fig.add_subplot(1, 1, 1)
    pos = np.arange(num)[::-1]
    ax.barh(pos, values, xerr=xerr,
            color=['tab:orange' if h else 'tab:blue' for h in highlight])
    ax.set_yticks(pos, [str(n) for n in names])
    for p, v in zip(pos, values):
        ax.text(v, p, f' {v:.2f}', va='center', fontsize=8)
    ax.set_xlabel(ylabel)
    ax.set_title(title)
    finite = [v for v in values if np.isfinite(v)]
    if finite:
        ax.set_xlim(0, max(finite) * 1.15 + 1e-6)
    return _save(fig, out_file)
