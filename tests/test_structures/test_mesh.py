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
