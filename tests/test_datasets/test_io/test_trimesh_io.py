# Copyright (c) mmfer4d contributors. All rights reserved.
import struct

import numpy as np
import pytest

from mmfer4d.datasets.io import (MeshReadError, load_mesh, read_trimesh,
                                 write_trimesh)
from mmfer4d.structures import Mesh


def _mesh():
    vertices = np.array([[0, 0, 0], [10, 0, 0], [10, 10, 0], [0, 10, 5.5]],
                        np.float32)
    faces = np.array([[0, 1, 2], [0, 2, 3]], np.int32)
    return Mesh(vertices, faces)


@pytest.mark.parametrize('ext', ['stl', 'glb'])
def test_files_written_by_trimesh(tmp_path, ext):
    path = tmp_path / f'a.{ext}'
    write_trimesh(path, _mesh())
    back = load_mesh(path)
    assert back.num_faces == 2 and back.path == str(path)
    # STL stores triangle soup: compare the triangles' corners.
    np.testing.assert_allclose(back.vertices[back.faces],
                               _mesh().vertices[_mesh().faces], atol=1e-5)


def _binary_stl(count, triangles):
    body = b''.join(struct.pack('<12fH', *([0, 0, 1] + t), 0)
                    for t in triangles)
    return b'\0' * 80 + struct.pack('<I', count) + body


TRI = [0, 0, 0, 1, 0, 0, 0, 1, 0]


def test_binary_stl_typed_from_the_layout(tmp_path):
    path = tmp_path / 'a.stl'
    path.write_bytes(_binary_stl(2, [TRI, [5, 5, 5, 6, 5, 5, 5, 6, 5]]))
    mesh = read_trimesh(path)
    assert mesh.num_faces == 2
    np.testing.assert_allclose(mesh.vertices[mesh.faces[1]],
                               [[5, 5, 5], [6, 5, 5], [5, 6, 5]])


@pytest.mark.parametrize('content,reason', [
    (_binary_stl(3, [TRI, TRI]), 'declares 3 triangles'),
    (_binary_stl(1, [TRI])[:-20], 'declares 1 triangles'),
    (b'\0' * 40, 'truncated binary STL'),
    (b'', 'empty file'),
])
def test_broken_stl(tmp_path, content, reason):
    path = tmp_path / 'a.stl'
    path.write_bytes(content)
    with pytest.raises(MeshReadError, match=reason) as info:
        read_trimesh(path)
    assert info.value.path == str(path)


def test_garbage_glb_and_missing_file(tmp_path):
    path = tmp_path / 'a.glb'
    path.write_bytes(b'glTF' + bytes(range(256)) * 4)
    with pytest.raises(MeshReadError, match='a.glb'):
        read_trimesh(path)
    with pytest.raises(MeshReadError, match='nope.stl'):
        read_trimesh(tmp_path / 'nope.stl')
