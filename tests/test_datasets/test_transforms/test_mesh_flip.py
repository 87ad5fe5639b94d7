# Copyright (c) mmfer4d contributors. All rights reserved.
import numpy as np
import pytest

from mmfer4d.datasets.transforms import RandomMeshFlip
from mmfer4d.structures.mesh import Mesh


def test_flip_mirrors_and_reverses_winding():
    rng = np.random.RandomState(1)
    verts = rng.randn(68, 3) * 20
    faces = np.stack([np.arange(66), np.arange(1, 67), np.arange(2, 68)], 1)
    uvs = rng.rand(66, 3, 2)
    mesh = Mesh(verts, faces, face_uvs=uvs, landmarks=verts.copy())
    flip = RandomMeshFlip(prob=1.0, center_x=2.0)
    out = flip(dict(mesh=mesh))
    assert out['mesh_flip'] is True
    got = out['mesh']
    np.testing.assert_allclose(got.vertices[:, 0], 4.0 - mesh.vertices[:, 0])
    np.testing.assert_array_equal(got.vertices[:, 1:], mesh.vertices[:, 1:])
    # Each triangle has the same corners in the opposite order, and its
    # texture coordinates follow the corners.
    np.testing.assert_array_equal(got.faces, mesh.faces[:, [2, 1, 0]])
    np.testing.assert_array_equal(got.face_uvs, mesh.face_uvs[:, [2, 1, 0]])
    # Landmarks swap sides: the new left outer eye corner (36) is the
    # mirror of the old right one (45); the nose tip (30) stays.
    np.testing.assert_allclose(got.landmarks[36, 0], 4.0 - verts[45, 0],
                               rtol=1e-6)
    np.testing.assert_allclose(got.landmarks[30, 0], 4.0 - verts[30, 0],
                               rtol=1e-6)
    np.testing.assert_allclose(got.landmarks[8, 1:], verts[8, 1:], rtol=1e-6)
    # Twice is the identity.
    twice = flip(dict(mesh=got))['mesh']
    np.testing.assert_allclose(twice.vertices, mesh.vertices, atol=1e-5)
    np.testing.assert_array_equal(twice.faces, mesh.faces)
    np.testing.assert_allclose(twice.landmarks, mesh.landmarks, atol=1e-5)
    # Input untouched; probability 0 never flips.
    np.testing.assert_array_equal(mesh.faces[:, 0], np.arange(66))
    out = RandomMeshFlip(prob=0.0)(dict(mesh=mesh))
    assert out['mesh_flip'] is False and out['mesh'] is mesh


def test_flip_landmark_errors():
    verts = np.random.RandomState(0).randn(50, 3) * 20
    faces = np.stack([np.arange(48), np.arange(1, 49), np.arange(2, 50)], 1)
    mesh = Mesh(verts, faces, landmarks=verts[:5].copy())  # no known map
    mesh.metainfo['path'] = 'F0001_AN01WH_F3D.wrl'
    with pytest.raises(ValueError, match='F0001_AN01WH_F3D.wrl.*5 landmarks'):
        RandomMeshFlip(prob=1.0)(dict(mesh=mesh))
    with pytest.raises(ValueError, match='permutation'):
        RandomMeshFlip(landmark_flip_index=[0, 0, 1])
    with pytest.raises(ValueError, match='but landmark_flip_index has 3'):
        RandomMeshFlip(prob=1.0, landmark_flip_index=[2, 1, 0])(
            dict(mesh=mesh))
    out = RandomMeshFlip(prob=1.0, landmark_flip_index=[4, 3, 2, 1, 0])(
        dict(mesh=mesh))
    np.testing.assert_allclose(out['mesh'].landmarks[0, 0],
                               -mesh.landmarks[4, 0], rtol=1e-6)
    with pytest.raises(ValueError, match='prob'):
        RandomMeshFlip(prob=1.5)
    with pytest.raises(ValueError, match='unknown_landmarks'):
        RandomMeshFlip(unknown_landmarks='keep')
    out = RandomMeshFlip(prob=1.0, unknown_landmarks='drop')(dict(mesh=mesh))
    assert out['mesh'].landmarks is None
    assert mesh.landmarks is not None


def test_flip_swaps_left_and_right_views():
    """Rendered after the flip, the left view is the mirror image of the
    original right view (normal x negated), which a per-image flip of the
    views could not give."""
    from mmfer4d.rendering import MultiViewRenderer
    g = np.linspace(-40, 40, 41)
    x, y = np.meshgrid(g, g)
    # An asymmetric bump so that left and right views differ.
    z = 30 * np.exp(-((x - 10)**2 + y**2) / 600.0)
    idx = np.arange(41 * 41).reshape(41, 41)
    a, b = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel()
    c, d = idx[1:, :-1].ravel(), idx[1:, 1:].ravel()
    faces = np.concatenate([np.stack([a, d, b], 1), np.stack([a, c, d], 1)])
    mesh = Mesh(np.stack([x, y, z], -1).reshape(-1, 3), faces)
    renderer = MultiViewRenderer(
        views=('front', 'left', 'right'),
        size=48,
        modalities=('depth', 'normal'),
        extent_mm=45.0)
    orig = renderer.render(mesh).images.astype(int)
    flipped = renderer.render(RandomMeshFlip(prob=1.0).flip(mesh))
    flipped = flipped.images.astype(int)
    assert np.abs(orig[1] - orig[2]).mean() > 5  # views differ
    for v, w in ((0, 0), (1, 2), (2, 1)):
        mirror = flipped[w][:, ::-1]
        fg = mirror[..., 0] > 0
        assert (fg == (orig[v][..., 0] > 0)).mean() > 0.99
        # depth and normal y / z agree; normal x changes sign
        both = fg & (orig[v][..., 0] > 0)
        assert np.abs(mirror[..., [0, 2, 3]] -
                      orig[v][..., [0, 2, 3]])[both].max() <= 2
        nx_sum = mirror[..., 1] + orig[v][..., 1]
        assert np.abs(nx_sum[both] - 256).max() <= 2
