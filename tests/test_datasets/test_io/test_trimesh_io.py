# Copyright (c) mmfer4d contributors. All rights reserved.
import numpy as np
import pytest

from mmfer4d.datasets.io import MeshReadError, read_trimesh, write_trimesh
from mmfer4d.structures import Mesh


def _mesh():
    vertices = np.array([[0, 0, 0], [10, 0, 0], [10, 10, 0], [0, 10, 5.5]],
                        np.float32)
    faces = np.array([[0, 1, 2], [0, 2, 3]], np.int32)
    colors = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [9, 9, 9]],
                      np.uint8)
    return Mesh(vertices, faces, vertex_colors=colors)


@pytest.mark.parametrize('ext', ['obj', 'ply', 'off'])
def test_round_trip(tmp_path, ext):
    mesh = _mesh()
    path = tmp_path / f'a.{ext}'
    write_trimesh(path, mesh)
    back = read_trimesh(path)
    assert back.num_vertices == 4 and back.num_faces == 2
    np.testing.assert_allclose(back.vertices, mesh.vertices, atol=1e-5)
    np.testing.assert_array_equal(back.faces, mesh.faces)
    assert back.path == str(path)
    if ext == 'ply':
        np.testing.assert_array_equal(back.vertex_colors, mesh.vertex_colors)


def test_obj_with_quads_is_triangulated(tmp_path):
    path = tmp_path / 'q.obj'
    path.write_text('v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nf 1 2 3 4\n')
    mesh = read_trimesh(path)
    assert mesh.num_faces == 2
    assert set(mesh.faces.ravel()) == {0, 1, 2, 3}


@pytest.mark.parametrize('name,content', [
    ('empty.obj', b''),
    ('garbage.ply', b'\x00\x01\x02\x03' * 64),
    ('nofaces.obj', b'v 0 0 0\nv 1 0 0\n'),
    ('nan.off', b'OFF\n3 1 0\n0 0 0\nnan 0 0\n0 1 0\n3 0 1 2\n'),
    ('range.off', b'OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 7\n'),
])
def test_broken_files_raise_with_path(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(MeshReadError) as info:
        read_trimesh(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(MeshReadError, match='nope.obj'):
        read_trimesh(tmp_path / 'nope.obj')
