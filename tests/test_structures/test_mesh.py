# Copyright (c) mmfer4d contributors. All rights reserved.
import numpy as np
import pytest

from mmfer4d.structures import Mesh


def _quad():
    vertices = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]],
                        dtype=np.float64)
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    return Mesh(vertices, faces, metainfo=dict(path='quad.obj'))


def test_dtypes_are_normalised():
    mesh = _quad()
    assert mesh.vertices.dtype == np.float32
    assert mesh.faces.dtype == np.int32
    assert mesh.num_vertices == 4 and mesh.num_faces == 2
    assert mesh.validate() is mesh


@pytest.mark.parametrize('change, message', [
    (dict(vertices=np.zeros((4, 2))), 'vertices must be'),
    (dict(faces=np.array([[0, 1, 4]])), 'out of range'),
    (dict(vertices=np.full((4, 3), np.nan)), 'NaN'),
    (dict(face_uvs=np.zeros((1, 3, 2))), 'face_uvs'),
    (dict(vertex_colors=np.zeros((3, 3), np.uint8)), 'vertex_colors'),
])
def test_validate_names_problem_and_file(change, message):
    mesh = _quad().copy(**change)
    with pytest.raises(ValueError, match=message) as err:
        mesh.validate()
    assert 'quad.obj' in str(err.value)


def test_copy_does_not_share_vertices():
    mesh = _quad()
    other = mesh.copy()
    other.vertices += 1
    assert mesh.vertices[0, 0] == 0
    assert other.faces is mesh.faces


@pytest.mark.parametrize('change, message', [
    (dict(vertices=np.array([[1e300, 0, 0], [1, 0, 0], [1, 1, 0],
                             [0, 1, 0]])), r'vertices\[0, 0\].*overflows'),
    (dict(faces=np.array([[0, 1, 2 + 2**32]])), 'does not fit int32'),
    (dict(faces=np.array([[0, 1, 2.5]])), 'whole numbers'),
    (dict(faces=np.array([[0, 1, np.nan]])), 'whole numbers'),
    (dict(face_uvs=np.full((2, 3, 2), 1e39)), r'face_uvs.*overflows'),
    (dict(landmarks=np.array([[1e40, 0, 0]])), 'landmarks.*overflows'),
])
def test_lossy_conversions_refused_at_construction(change, message):
    with pytest.raises(ValueError, match=message) as err:
        _quad().copy(**change)
    assert 'quad.obj' in str(err.value)


@pytest.mark.parametrize('change, message', [
    (dict(face_uvs=np.full((2, 3, 2), np.nan)), r'face_uvs\[0, 0, 0\].*NaN'),
    (dict(face_uvs=np.full((2, 3, 2), np.inf)), 'face_uvs.*NaN or Inf'),
    (dict(landmarks=np.array([[np.nan, 0, 0]])), 'landmarks.*NaN'),
    (dict(faces=np.array([[0, 1, -1]])), 'face index -1 out of range'),
    (dict(texture=np.zeros((4, 4, 3), np.float32)), 'texture must be uint8'),
    (dict(vertex_colors=np.zeros((4, 3), np.int64)), 'must be uint8'),
])
def test_validate_rejects_what_kernels_must_not_see(change, message):
    mesh = _quad().copy(**change)
    with pytest.raises(ValueError, match=message):
        mesh.validate()


def test_validate_checks_arrays_assigned_later():
    mesh = _quad()
    mesh.faces = np.array([[0, 1, 2**31 + 5]], np.int64)  # would wrap
    with pytest.raises(ValueError, match='out of range'):
        mesh.validate()
    mesh = _quad()
    mesh.vertices = np.array([[3e38 * 10, 0, 0]] * 4)  # float64, finite
    with pytest.raises(ValueError, match='beyond float32'):
        mesh.validate()
    mesh = _quad()
    with np.errstate(over='ignore'):
        mesh.vertices = mesh.vertices * np.float32(1e38) * 10
    with pytest.raises(ValueError, match='NaN or Inf'):
        mesh.validate()
