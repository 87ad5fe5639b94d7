# Copyright (c) mmfer4d contributors. All rights reserved.
import numpy as np
import pytest

from mmfer4d.datasets.transforms import NormalizeFace
from mmfer4d.structures import rotation_matrix


def test_normalize_centres_on_tip(grid_face):
    mesh, tip = grid_face()
    results = NormalizeFace(crop_radius=None)(dict(mesh=mesh))
    out = results['mesh']
    assert out.num_vertices == mesh.num_vertices
    np.testing.assert_allclose(results['nose_tip'], tip, atol=1e-4)
    np.testing.assert_allclose(out.vertices, mesh.vertices - tip, atol=1e-3)
    assert results['normalize_matrix'].shape == (4, 4)
    # The input mesh is not modified.
    np.testing.assert_allclose(mesh.vertices.max(0)[2], 230.0)
    scaled = NormalizeFace(crop_radius=None, scale=0.5)(dict(mesh=mesh))
    np.testing.assert_allclose(
        scaled['mesh'].vertices, (mesh.vertices - tip) * 0.5, atol=1e-3)


def test_crop_around_the_tip(grid_face):
    mesh, tip = grid_face()
    radius = 30.0
    inside = np.linalg.norm(mesh.vertices - tip, axis=1) <= radius
    # Centred, so every vertex is within the radius.
    out = NormalizeFace(crop_radius=radius)(dict(mesh=mesh))['mesh']
    assert out.num_vertices == inside.sum()
    assert np.linalg.norm(out.vertices, axis=1).max() <= radius + 1e-3
    with pytest.raises(ValueError, match='no vertex'):
        NormalizeFace(crop_radius=1e-3, nose_index=0)(
            dict(mesh=mesh.copy(landmarks=np.full((1, 3), 1e3))))


def test_normalize_aligns_to_template(grid_face):
    rng = np.random.RandomState(2)
    template = rng.randn(68, 3) * 30
    template[30] = 0.0  # the template's nose tip at the origin
    rot = rotation_matrix(25.0, 0.0, -10.0)
    trans = np.array([5.0, -7.0, 40.0])
    mesh, _ = grid_face(offset=np.zeros(3), spike=False)
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


def test_sequence_uses_first_frame_reference(grid_face):
    first, _ = grid_face()
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
