# Copyright (c) mmfer4d contributors. All rights reserved.
import numpy as np
import pytest

from mmfer4d.datasets.transforms import RandomMeshAugment
from mmfer4d.structures import rotation_matrix
from mmfer4d.structures.mesh import Mesh


def _mesh(n=50, seed=0):
    rng = np.random.RandomState(seed)
    verts = rng.randn(n, 3) * 20
    faces = np.stack([np.arange(n - 2),
                      np.arange(1, n - 1),
                      np.arange(2, n)], 1)
    return Mesh(verts, faces, landmarks=verts[:5].copy())


def _rotation(angles):
    """The augmentation's rotation, typed from its docstring: angles about
    x (pitch), y (yaw), z (roll), applied x first: ``Rz @ Ry @ Rx``."""
    rx, ry, rz = np.radians(angles)
    mx = np.array([[1, 0, 0], [0, np.cos(rx), -np.sin(rx)],
                   [0, np.sin(rx), np.cos(rx)]])
    my = np.array([[np.cos(ry), 0, np.sin(ry)], [0, 1, 0],
                   [-np.sin(ry), 0, np.cos(ry)]])
    mz = np.array([[np.cos(rz), -np.sin(rz), 0],
                   [np.sin(rz), np.cos(rz), 0], [0, 0, 1]])
    return mz @ my @ mx


def test_rotation_is_the_documented_one():
    angles = [12.0, -30.0, 7.0]
    np.testing.assert_allclose(
        rotation_matrix(angles[1], angles[0], angles[2], order='zyx'),
        _rotation(angles), atol=1e-12)


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
    rot = _rotation(params['rotate'])
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
    lin = params['scale'] * _rotation(params['rotate'])
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


def test_warp_is_smooth_bounded_and_shared():
    from mmfer4d.datasets.transforms import RandomMeshWarp
    rng = np.random.RandomState(3)
    verts = rng.uniform(-70, 70, (400, 3))
    faces = np.stack([np.arange(398), np.arange(1, 399), np.arange(2, 400)],
                     1)
    mesh = Mesh(verts, faces, landmarks=verts[:7].copy())
    warp = RandomMeshWarp(amplitude_mm=6.0, wavelength_mm=(60., 160.),
                          num_waves=4, prob=1.0)
    np.random.seed(0)
    out = warp(dict(mesh=mesh))
    field = out['mesh_warp']
    assert field is not None and field['amplitudes_mm'].shape == (4, )
    d = out['mesh'].vertices - mesh.vertices
    norms = np.linalg.norm(d, axis=1)
    assert 0.5 < norms.max() <= 2.0 * 6.0 + 1e-4  # sqrt(K) * amplitude
    np.testing.assert_allclose(d, RandomMeshWarp.displacement(verts, field),
                               atol=1e-4)
    # Smooth: the field changes by at most sum(a_k |w_k|) per mm.
    lipschitz = (field['amplitudes_mm'] * 2 * np.pi /
                 field['wavelengths_mm']).sum()
    assert lipschitz < 1.0
    p = np.array([[10.0, 20.0, 30.0]])
    q = p + [[0.3, -0.4, 0.0]]  # 0.5 mm away
    step = np.linalg.norm(RandomMeshWarp.displacement(p, field) -
                          RandomMeshWarp.displacement(q, field))
    assert step <= 0.5 * lipschitz + 1e-9
    # Landmarks move with the vertices they sit on.
    np.testing.assert_allclose(out['mesh'].landmarks,
                               out['mesh'].vertices[:7], atol=1e-4)
    # A sequence gets one field for all frames.
    np.random.seed(1)
    seq = warp(dict(meshes=[mesh, mesh.copy()]))
    np.testing.assert_array_equal(seq['meshes'][0].vertices,
                                  seq['meshes'][1].vertices)
    # prob 0: untouched, but the same numbers are drawn (no stream shift).
    np.random.seed(5)
    none = RandomMeshWarp(prob=0.0)(dict(mesh=mesh))
    after = np.random.rand()
    np.random.seed(5)
    RandomMeshWarp(prob=1.0)(dict(mesh=mesh))
    assert none['mesh_warp'] is None and none['mesh'] is mesh
    assert np.random.rand() == after


def test_warp_argument_errors():
    from mmfer4d.datasets.transforms import RandomMeshWarp
    with pytest.raises(ValueError, match='amplitude_mm'):
        RandomMeshWarp(amplitude_mm=-1)
    with pytest.raises(ValueError, match='wavelength_mm'):
        RandomMeshWarp(wavelength_mm=(100, 50))
    with pytest.raises(ValueError, match='num_waves'):
        RandomMeshWarp(num_waves=0)
    with pytest.raises(ValueError, match='prob'):
        RandomMeshWarp(prob=2)
