# Copyright (c) mmfer4d contributors. All rights reserved.
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from mmfer4d.evaluation import cluster_accuracy
from mmfer4d.utils import (expression_descriptors, pca_whiten,
                           procrustes_align)


def test_procrustes_undoes_a_rotation_and_translation():
    rng = np.random.default_rng(0)
    ref = rng.standard_normal((10, 3)) * 30
    rot = Rotation.from_euler('xyz', [5, -8, 3], degrees=True).as_matrix()
    moved = ref @ rot.T + np.array([1.0, -2.0, 40.0])
    aligned = procrustes_align(moved, ref)
    np.testing.assert_allclose(aligned, ref - ref.mean(0), atol=1e-9)
    # A reflection is not a rotation: it is not undone.
    mirrored = ref * np.array([-1.0, 1.0, 1.0])
    assert np.abs(procrustes_align(mirrored, ref) -
                  (ref - ref.mean(0))).max() > 1.0
    with pytest.raises(ValueError, match=r'\(N, L, 3\)'):
        procrustes_align(ref[:, :2], ref)


def test_descriptors_keep_expression_and_drop_identity_and_pose():
    # Faces = mean shape + large identity offset + small expression
    # displacement, seen under a random head pose.
    rng = np.random.default_rng(1)
    mean = rng.standard_normal((20, 3)) * 40
    identity = rng.standard_normal((6, 20, 3)) * 4
    expression = rng.standard_normal((3, 20, 3))
    sets, labels, subjects = [], [], []
    for s in range(6):
        for c in range(3):
            angles = rng.uniform(-8, 8, 3)
            rot = Rotation.from_euler('xyz', angles,
                                      degrees=True).as_matrix()
            sets.append((mean + identity[s] + expression[c]) @ rot.T)
            labels.append(c)
            subjects.append(f'S{s}')
    desc = expression_descriptors(np.stack(sets), subjects)
    assert desc.shape == (18, 60)
    np.testing.assert_allclose(np.linalg.norm(desc, axis=1), 1.0)
    # Same expression, different subjects and poses: nearly the same row.
    sim = desc @ desc.T
    same = np.equal.outer(labels, labels)
    assert sim[same].min() > sim[~same].max()
    from sklearn.cluster import KMeans
    clusters = KMeans(3, n_init=4, random_state=0).fit_predict(desc)
    assert cluster_accuracy(clusters, labels) == 1.0
    # Without the per-subject centring (one subject id for all), identity
    # dominates and the classes are not separated.
    raw = expression_descriptors(np.stack(sets), ['all'] * 18)
    sim = raw @ raw.T
    assert sim[same].min() < sim[~same].max()


def test_descriptor_errors():
    with pytest.raises(ValueError, match='subject ids'):
        expression_descriptors(np.zeros((2, 4, 3)), ['a'])
    with pytest.raises(ValueError, match=r'\(N, L, 3\)'):
        expression_descriptors(np.zeros((4, 3)), ['a'] * 4)
    with pytest.raises(ValueError, match='iterations'):
        expression_descriptors(np.zeros((2, 4, 3)), ['a', 'b'], iterations=0)


def test_pca_whiten_equalises_directions():
    rng = np.random.default_rng(3)
    # Two groups apart along a small direction, large noise along another.
    x = np.zeros((40, 5))
    x[:, 0] = rng.standard_normal(40) * 10.0
    x[:20, 1], x[20:, 1] = 0.5, -0.5
    z = pca_whiten(x, 2)
    assert z.shape == (40, 2)
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0)
    # After whitening the small direction carries as much as the big one:
    # the groups separate in cosine terms far better than in the raw rows.

    def gap(rows):
        rows = rows / np.linalg.norm(rows, axis=1, keepdims=True)
        sim = rows @ rows.T
        same = np.equal.outer(np.arange(40) < 20, np.arange(40) < 20)
        return sim[same].mean() - sim[~same].mean()
    assert gap(z) > gap(x) + 0.2
    with pytest.raises(ValueError, match='num_components'):
        pca_whiten(x, 6)
