# Copyright (c) mmfer4d contributors. All rights reserved.
import numpy as np
import pytest

from mmfer4d.datasets.transforms import (NormalizeFace, crop_mesh_sphere,
                                         estimate_nose_tip, euler_to_matrix,
                                         kabsch_rotation)
from mmfer4d.structures.mesh import Mesh

OFFSET = np.array([10.0, -20.0, 30.0])
NOSE = 25.0  # height of the nose bump above the cheeks, mm


def synthetic_face(step=4.0, half=60.0, offset=OFFSET, spike=True):
    """A grid face: a paraboloid with a Gaussian nose whose tip is a vertex
    at ``offset + (0, 0, NOSE)``, plus one tall spike at a corner."""
    ticks = np.arange(-half, half + 1e-6, step)
    x, y = np.meshgrid(ticks, ticks)
    z = -0.004 * (x**2 + y**2) + NOSE * np.exp(-(x**2 + y**2) / (2 * 8.0**2))
    if spike:
        z[0, 0] = 200.0  # scanner outlier far from the centre
    verts = np.stack([x, y, z], -1).reshape(-1, 3) + offset
    n = len(ticks)
    idx = np.arange(n * n).reshape(n, n)
    a, b = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel()
    c, d = idx[1:, :-1].ravel(), idx[1:, 1:].ravel()
    faces = np.concatenate([np.stack([a, b, c], 1), np.stack([b, d, c], 1)])
    uvs = np.random.RandomState(0).rand(len(faces), 3, 2)
    colors = (np.arange(n * n)[:, None] % 256).repeat(3, 1).astype(np.uint8)
    return Mesh(verts, faces, face_uvs=uvs, vertex_colors=colors)


TIP = OFFSET + np.array([0.0, 0.0, NOSE])


def test_geometric_nose_tip_ignores_spike():
    tip = estimate_nose_tip(synthetic_face())
    np.testing.assert_allclose(tip, TIP, atol=1e-4)


def test_nose_tip_from_landmarks():
    mesh = synthetic_face()
    lms = np.zeros((68, 3), np.float32)
    lms[30] = [1.0, 2.0, 3.0]
    mesh.landmarks = lms
    np.testing.assert_allclose(estimate_nose_tip(mesh), [1, 2, 3])
    lms5 = np.arange(15, dtype=np.float32).reshape(5, 3)
    mesh = mesh.copy(landmarks=lms5)
    np.testing.assert_allclose(estimate_nose_tip(mesh, nose_index=2), lms5[2])
    # Named landmark (Bosphorus .lm3 'Nose tip').
    mesh.metainfo['landmark_names'] = ['a', 'b', 'c', 'Nose tip', 'e']
    np.testing.assert_allclose(estimate_nose_tip(mesh), lms5[3])
    with pytest.raises(ValueError, match='nose_index=7'):
        estimate_nose_tip(mesh, nose_index=7)


def test_nose_tip_bu3dfe_region():
    mesh = synthetic_face()
    lms = np.zeros((83, 3), np.float32) + OFFSET.astype(np.float32)
    lms[36:48, :2] += np.array([[-6, -6], [6, 6]] * 6, np.float32)
    mesh.landmarks = lms
    np.testing.assert_allclose(estimate_nose_tip(mesh), TIP, atol=1e-4)


def test_normalize_centres_on_tip():
    mesh = synthetic_face()
    results = NormalizeFace(crop_radius=None)(dict(mesh=mesh))
    out = results['mesh']
    assert out.num_vertices == mesh.num_vertices
    np.testing.assert_allclose(results['nose_tip'], TIP, atol=1e-4)
    np.testing.assert_allclose(out.vertices, mesh.vertices - TIP, atol=1e-3)
    assert results['normalize_matrix'].shape == (4, 4)
    # The input mesh is not modified.
    np.testing.assert_allclose(mesh.vertices.max(0)[2], 230.0)
    scaled = NormalizeFace(crop_radius=None, scale=0.5)(dict(mesh=mesh))
    np.testing.assert_allclose(
        scaled['mesh'].vertices, (mesh.vertices - TIP) * 0.5, atol=1e-3)


def test_crop_removes_exactly_far_vertices():
    mesh = synthetic_face()
    radius = 30.0
    dist = np.linalg.norm(mesh.vertices - TIP, axis=1)
    inside = dist <= radius
    cropped = crop_mesh_sphere(mesh, TIP, radius)
    np.testing.assert_array_equal(cropped.vertices, mesh.vertices[inside])
    np.testing.assert_array_equal(cropped.vertex_colors,
                                  mesh.vertex_colors[inside])
    face_keep = inside[mesh.faces].all(1)
    assert cropped.num_faces == face_keep.sum() > 0
    # Same triangles (as coordinates) and same UVs after reindexing.
    np.testing.assert_array_equal(cropped.vertices[cropped.faces],
                                  mesh.vertices[mesh.faces[face_keep]])
    np.testing.assert_array_equal(cropped.face_uvs, mesh.face_uvs[face_keep])
    cropped.validate()
    # Through the transform: centred, so every vertex is within the radius.
    out = NormalizeFace(crop_radius=radius)(dict(mesh=mesh))['mesh']
    assert out.num_vertices == inside.sum()
    assert np.linalg.norm(out.vertices, axis=1).max() <= radius + 1e-3


def test_kabsch_recovers_rotation():
    rng = np.random.RandomState(1)
    pts = rng.randn(10, 3) * 30
    rot = euler_to_matrix([10.0, -20.0, 5.0])
    moved = pts @ rot.T + np.array([3.0, 4.0, 5.0])
    np.testing.assert_allclose(kabsch_rotation(pts, moved), rot, atol=1e-9)
    # Never a reflection.
    mirrored = pts * np.array([-1.0, 1.0, 1.0])
    assert np.linalg.det(kabsch_rotation(pts, mirrored)) > 0


def test_normalize_aligns_to_template():
    rng = np.random.RandomState(2)
    template = rng.randn(68, 3) * 30
    template[30] = 0.0  # the template's nose tip at the origin
    rot = euler_to_matrix([0.0, 25.0, -10.0])
    trans = np.array([5.0, -7.0, 40.0])
    mesh = synthetic_face(offset=np.zeros(3), spike=False)
    mesh.landmarks = template
    # Pose the face (and its landmarks) away from the template.
    posed = mesh.copy(
        vertices=mesh.vertices @ rot.T + trans,
        landmarks=template @ rot.T + trans)
    norm = NormalizeFace(crop_radius=None, align_template=template)
    out = norm(dict(mesh=posed))['mesh']
    np.testing.assert_allclose(out.landmarks, template, atol=1e-3)
    np.testing.assert_allclose(out.vertices, mesh.vertices, atol=1e-3)
    # Without landmarks: skipped, or an error naming the problem.
    bare = posed.copy(landmarks=None)
    out = norm(dict(mesh=bare))['mesh']
    assert out.num_vertices == bare.num_vertices
    with pytest.raises(ValueError, match='no landmarks'):
        NormalizeFace(
            align_template=template, align_fallback='raise')(
                dict(mesh=bare))


def test_template_from_file(tmp_path):
    path = tmp_path / 'tpl.npy'
    np.save(path, np.eye(3) * 10)
    assert NormalizeFace(align_template=str(path)).template.shape == (3, 3)
    with pytest.raises(ValueError, match='absent.txt'):
        NormalizeFace(align_template=str(tmp_path / 'absent.txt'))


def test_sequence_uses_first_frame_reference():
    first = synthetic_face()
    moved = first.copy(vertices=first.vertices + np.array([0, 0, 4.0]))
    results = NormalizeFace(crop_radius=None)(dict(meshes=[first, moved]))
    out = results['meshes']
    assert len(out) == 2 and 'mesh' not in results
    # The motion of the second frame (4 mm forward) stays visible.
    np.testing.assert_allclose(
        out[1].vertices - out[0].vertices, [[0, 0, 4.0]] * first.num_vertices,
        atol=1e-3)
    each = NormalizeFace(
        crop_radius=None,
        sequence_reference='each')(dict(meshes=[first, moved]))['meshes']
    np.testing.assert_allclose(each[1].vertices, each[0].vertices, atol=1e-3)


def test_bad_options():
    with pytest.raises(ValueError, match='center'):
        NormalizeFace(center='chin')
    with pytest.raises(ValueError, match='crop_radius'):
        NormalizeFace(crop_radius=0)
    with pytest.raises(KeyError, match='mesh'):
        NormalizeFace()(dict())
