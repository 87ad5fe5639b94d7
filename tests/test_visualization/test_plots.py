# Copyright (c) mmfer4d contributors. All rights reserved.
import numpy as np
import pytest

from mmfer4d.visualization import (plot_bar_chart, plot_confusion_matrix,
                                   plot_embedding_tsne)


def _is_png(path):
    return path.is_file() and path.read_bytes()[:4] == b'\x89PNG'


def test_confusion_matrix_png(tmp_path):
    out = tmp_path / 'sub' / 'cm.png'
    plot_confusion_matrix([[2, 1], [0, 3]], ['a', 'b'], str(out))
    assert _is_png(out)
    with pytest.raises(ValueError, match='square'):
        plot_confusion_matrix([[1, 2, 3]], out_file=str(out))
    with pytest.raises(ValueError, match='3 class names'):
        plot_confusion_matrix([[1, 0], [0, 1]], ['a', 'b', 'c'], str(out))


def test_tsne_separates_clusters(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 10)
    emb = rng.standard_normal((20, 8)) + 20.0 * labels[:, None]
    out = tmp_path / 'tsne.png'
    coords = plot_embedding_tsne(emb, labels, [f's{i % 4}' for i in range(20)],
                                 str(out), classes=['x', 'y'], perplexity=5,
                                 max_iter=400)
    assert coords.shape == (20, 2) and _is_png(out)
    # Well separated input stays separated: class centroids are further
    # apart than the spread within a class.
    c0, c1 = coords[labels == 0].mean(0), coords[labels == 1].mean(0)
    spread = max(coords[labels == k].std(0).max() for k in (0, 1))
    assert np.linalg.norm(c0 - c1) > 2 * spread
    with pytest.raises(ValueError, match='labels for'):
        plot_embedding_tsne(emb, labels[:5], out_file=str(out), perplexity=5)


def test_bar_chart(tmp_path):
    out = tmp_path / 'bar.png'
    plot_bar_chart(['a', 'b'], [1.0, 2.0], str(out), errors=[None, 0.5],
                   highlight=[True, False])
    assert _is_png(out)
    with pytest.raises(ValueError, match='2 names for 1 values'):
        plot_bar_chart(['a', 'b'], [1.0], str(out))
