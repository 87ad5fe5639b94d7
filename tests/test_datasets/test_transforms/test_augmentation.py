# Copyright (c) mmfer4d contributors. All rights reserved.
import numpy as np
import pytest

from mmfer4d.datasets.transforms import RandomMeshAugment, euler_to_matrix
from mmfer4d.structures.mesh import Mesh


def _mesh(n=50, seed=0):
    rng = np.random.RandomState(seed)
    verts = rng.randn(n, 3) * 20
    faces = np.stack([np.arange(n - 2),
                      np.arange(1, n - 1),
                      np.arange(2, n)], 1)
    return Mesh(verts, faces, landmarks=verts[:5].copy())


def test_euler_to_matrix():
    rot = euler_to_matrix([0, 90, 0])
    # A yaw of +90 degrees takes +z (towards the viewer) to +x.
    np.testing.assert_allclose(rot @ [0, 0, 1], [1, 0, 0], atol=1e-12)
    rot = euler_to_matrix([12, -30, 7])
    np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-12)


def test_probability_zero_is_identity():
    mesh = _mesh()
    aug = RandomMeshAugment(rotate_prob=0, scale_prob=0, noise_prob=0)
    for _ in range(5):
        out = aug(dict(mesh=mesh))
        np.testing.assert_array_equal(out['mesh'].vertices, mesh.vertices)
        assert out['mesh_augment'] == dict(
            rotate=None, scale=None, noise_mm=None)


def test_probability_one_changes():
    mesh = _mesh()
    np.random.seed(0)
    out = RandomMeshAugment(
        rotate_prob=1, scale_prob=0, noise_prob=0)(
            dict(mesh=mesh))
    params = out['mesh_augment']
    assert np.all(np.abs(params['rotate']) <= 5)
    rot = euler_to_matrix(params['rotate'])
    np.testing.assert_allclose(
        out['mesh'].vertices, mesh.vertices @ rot.T, atol=1e-3)
    np.testing.assert_allclose(
        out['mesh'].landmarks, mesh.landmarks @ rot.T, atol=1e-3)
    # Distances to the origin (the centre) are kept by a rotation.
    np.testing.assert_allclose(
        np.linalg.norm(out['mesh'].vertices, axis=1),
        np.linalg.norm(mesh.vertices, axis=1),
        rtol=1e-5)

    out = RandomMeshAugment(
        rotate_prob=0, scale_prob=1, noise_prob=0)(
            dict(mesh=mesh))
    factor = out['mesh_augment']['scale']
    assert 0.95 <= factor <= 1.05 and factor != 1.0
    np.testing.assert_allclose(
        out['mesh'].vertices, mesh.vertices * factor, rtol=1e-5)

    out = RandomMeshAugment(
        rotate_prob=0, scale_prob=0, noise_prob=1, noise_mm=0.5)(
            dict(mesh=_mesh(n=4000)))
    diff = out['mesh'].vertices - _mesh(n=4000).vertices
    assert 0.45 < diff.std() < 0.55
    np.testing.assert_array_equal(out['mesh'].landmarks,
                                  _mesh(n=4000).landmarks)


def test_sequence_shares_parameters():
    frames = [_mesh(seed=0), _mesh(seed=0)]
    frames[1].vertices += 3.0
    np.random.seed(3)
    out = RandomMeshAugment(
        rotate_prob=1, scale_prob=1,
        noise_prob=1)(dict(meshes=frames))['meshes']
    # The same rigid map and the same noise field on both frames: the
    # difference between frames is the original one, rotated and scaled.
    np.random.seed(3)
    params = RandomMeshAugment(
        rotate_prob=1, scale_prob=1,
        noise_prob=1)(dict(meshes=frames))['mesh_augment']
    lin = params['scale'] * euler_to_matrix(params['rotate'])
    np.testing.assert_allclose(
        out[1].vertices - out[0].vertices,
        np.full((50, 3), 3.0) @ lin.T,
        atol=1e-3)


def test_seeded_is_reproducible():
    aug = RandomMeshAugment(rotate_prob=1, scale_prob=1, noise_prob=1)
    np.random.seed(7)
    a = aug(dict(mesh=_mesh()))['mesh'].vertices
    np.random.seed(7)
    b = aug(dict(mesh=_mesh()))['mesh'].vertices
    np.testing.assert_array_equal(a, b)


def test_bad_arguments():
    with pytest.raises(ValueError, match='rotate_prob'):
        RandomMeshAugment(rotate_prob=1.5)
    with pytest.raises(ValueError, match='scale'):
        RandomMeshAugment(scale=(1.1, 0.9))
    with pytest.raises(ValueError, match='noise_mm'):
        RandomMeshAugment(noise_mm=-1)
