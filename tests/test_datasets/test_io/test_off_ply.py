# Copyright (c) mmfer4d contributors. All rights reserved.
"""OFF and PLY fixtures typed by hand (or packed with ``struct``) from
Geomview's OFF(5) and Greg Turk's PLY descriptions."""
import gzip
import struct

import numpy as np
import pytest

from mmfer4d.datasets.io import MeshReadError, load_mesh, read_off, read_ply
from mmfer4d.datasets.io.trimesh_io import write_trimesh
from mmfer4d.structures import Mesh


def _write(tmp_path, content, name):
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else
                     content)
    return path


OFF = """OFF
# a quad and a triangle
5 2 0
0 0 0
1 0 0
1 1 0
0 1 0
0.5 2 1
4 0 1 2 3
3 3 2 4
"""
OFF_FACES = [[0, 1, 2], [0, 2, 3], [3, 2, 4]]


def test_off(tmp_path):
    mesh = read_off(_write(tmp_path, OFF, 'a.off'))
    np.testing.assert_array_equal(mesh.faces, OFF_FACES)
    np.testing.assert_array_equal(mesh.vertices[4], [0.5, 2, 1])


def test_coff_counts_on_header_line_and_face_colours(tmp_path):
    mesh = read_off(_write(tmp_path, """COFF 3 1 3
0 0 0 255 0 0 255
1 0 0 0 255 0 255
0 1 0 0 0 255 255
3 0 1 2 0.5 0.5 0.5
""", 'a.off'))
    np.testing.assert_array_equal(mesh.vertex_colors,
                                  [[255, 0, 0], [0, 255, 0], [0, 0, 255]])
    np.testing.assert_array_equal(mesh.faces, [[0, 1, 2]])


@pytest.mark.parametrize('text,reason', [
    (OFF.replace('5 2 0', '6 2 0'), r'declares 6 vertices.*only 7 lines'),
    (OFF.replace('5 2 0', '5 1 0'), 'lines after the last of the 1 faces'),
    (OFF.replace('5 2 0', '6 1 0'), r'vertex line with 5 values.*line 9'),
    (OFF.replace('3 3 2 4', '4 3 2 4'), r"face line '4 3 2 4'"),
    (OFF.replace('3 3 2 4', '3 3 2 5'), r'face index 5 out of range.*line 10'),
    (OFF.replace('3 3 2 4', '3 3 2 1.5'), 'out of range'),
    (OFF[:int(len(OFF) * 0.9)], 'only'),
    ('OFF\n', 'no "NVertices'),
    ('PLY\n3 1 0\n', 'not an OFF file'),
    ('OFF\n0 0 0\n', 'empty mesh'),
])
def test_off_lies_raise(tmp_path, text, reason):
    path = _write(tmp_path, text, 'a.off')
    with pytest.raises(MeshReadError, match=reason) as info:
        read_off(path)
    assert info.value.path == str(path)


# Greg Turk's example: a cube of 8 vertices and 6 quads.
PLY_CUBE = """ply
format ascii 1.0
comment made by Greg Turk
comment this file is a cube
element vertex 8
property float x
property float y
property float z
element face 6
property list uchar int vertex_index
end_header
0 0 0
0 0 1
0 1 1
0 1 0
1 0 0
1 0 1
1 1 1
1 1 0
4 0 1 2 3
4 7 6 5 4
4 0 4 5 1
4 1 5 6 2
4 2 6 7 3
4 3 7 4 0
"""
CUBE_QUADS = np.array([[0, 1, 2, 3], [7, 6, 5, 4], [0, 4, 5, 1],
                       [1, 5, 6, 2], [2, 6, 7, 3], [3, 7, 4, 0]])
CUBE_FACES = np.concatenate([CUBE_QUADS[:, [0, 1, 2]],
                             CUBE_QUADS[:, [0, 2, 3]]], 1).reshape(-1, 3)
CUBE_VERTICES = np.array([[0, 0, 0], [0, 0, 1], [0, 1, 1], [0, 1, 0],
                          [1, 0, 0], [1, 0, 1], [1, 1, 1], [1, 1, 0]])


def test_ply_ascii_cube(tmp_path):
    mesh = read_ply(_write(tmp_path, PLY_CUBE, 'cube.ply'))
    np.testing.assert_array_equal(mesh.vertices, CUBE_VERTICES)
    np.testing.assert_array_equal(mesh.faces, CUBE_FACES)


def test_ply_ascii_colours_uv_and_other_elements(tmp_path):
    with pytest.warns(UserWarning, match='tex.png'):
        mesh = _colour_uv_ply(tmp_path)
    np.testing.assert_array_equal(mesh.vertex_colors[0], [255, 0, 0])
    np.testing.assert_array_equal(mesh.face_uvs[0], [[0, 0], [1, 0], [0, 1]])
    assert mesh.metainfo['texture_path'].endswith('tex.png')


def _colour_uv_ply(tmp_path):
    return read_ply(_write(tmp_path, """ply
format ascii 1.0
comment TextureFile tex.png
element vertex 3
property float x
property float y
property float z
property uchar red
property uchar green
property uchar blue
property float s
property float t
element face 1
property list uchar int vertex_indices
element edge 1
property int vertex1
property int vertex2
end_header
0 0 0 255 0 0 0 0
1 0 0 0 255 0 1 0
0 1 0 0 0 255 0 1
3 0 1 2
0 1
""", 'a.ply'))


def _binary_cube(order='<', quads=True):
    header = PLY_CUBE.split('end_header')[0].replace(
        'ascii', 'binary_little_endian' if order == '<' else
        'binary_big_endian') + 'end_header\n'
    body = b''.join(struct.pack(order + 'fff', *v) for v in CUBE_VERTICES)
    if quads:
        body += b''.join(struct.pack(order + 'B4i', 4, *q)
                         for q in CUBE_QUADS)
    else:  # a triangle first, then quads: list lengths differ
        header = header.replace('element face 6', 'element face 7')
        body += struct.pack(order + 'B3i', 3, 0, 1, 2)
        body += b''.join(struct.pack(order + 'B4i', 4, *q)
                         for q in CUBE_QUADS)
    return header.encode() + body


@pytest.mark.parametrize('order', ['<', '>'])
def test_ply_binary_cube(tmp_path, order):
    mesh = read_ply(_write(tmp_path, _binary_cube(order), 'cube.ply'))
    np.testing.assert_array_equal(mesh.vertices, CUBE_VERTICES)
    np.testing.assert_array_equal(mesh.faces, CUBE_FACES)


def test_ply_binary_mixed_list_lengths(tmp_path):
    mesh = read_ply(_write(tmp_path, _binary_cube(quads=False), 'a.ply'))
    np.testing.assert_array_equal(mesh.faces[0], [0, 1, 2])
    np.testing.assert_array_equal(mesh.faces[1:], CUBE_FACES)


@pytest.mark.parametrize('content,reason', [
    # The lie of issue 13: more vertices than present meets a face line.
    (PLY_CUBE.replace('vertex 8', 'vertex 9'), r'record with 5 values.*'
     'line 20'),
    (PLY_CUBE.replace('face 6', 'face 7'), 'declares 7 records, the file '
     'holds 6'),
    (PLY_CUBE.replace('face 6', 'face 5'), 'lines after the last record'),
    (PLY_CUBE.replace('4 3 7 4 0', '4 3 7 4'), 'bad list length'),
    (PLY_CUBE.replace('4 3 7 4 0', '4 3 7 4 8'), 'face index 8 out of range'),
    (PLY_CUBE.replace('4 3 7 4 0', '2 3 7'), '2 corners'),
    (PLY_CUBE[:int(len(PLY_CUBE) * 0.9)], 'the file holds'),
    (PLY_CUBE.replace('float z', 'float w'), 'lacks scalar x, y or z'),
    (PLY_CUBE.replace('format ascii', 'format klingon'), 'unknown PLY'),
    (PLY_CUBE.replace('property float y', 'property quad y'),
     'bad PLY header line'),
    (_binary_cube()[:-7], 'need .* bytes|truncated'),
    (_binary_cube() + b'\x01\x02\x03', 'bytes after the last record'),
    (_binary_cube().replace(b'vertex 8', b'vertex 80'), 'need .* bytes'),
    (b'ply\nformat ascii 1.0\n', 'not a PLY file'),
])
def test_ply_lies_raise(tmp_path, content, reason):
    path = _write(tmp_path, content, 'a.ply')
    with pytest.raises(MeshReadError, match=reason) as info:
        read_ply(path)
    assert info.value.path == str(path)


@pytest.mark.parametrize('ext', ['obj', 'ply', 'off'])
def test_files_written_by_trimesh(tmp_path, ext):
    # trimesh's writer is an independent implementation of each format.
    vertices = np.array([[0, 0, 0], [10, 0, 0], [10, 10, 0], [0, 10, 5.5]],
                        np.float32)
    mesh = Mesh(vertices, np.array([[0, 1, 2], [0, 2, 3]]),
                vertex_colors=np.array([[255, 0, 0], [0, 255, 0],
                                        [0, 0, 255], [9, 9, 9]], np.uint8))
    path = tmp_path / f'a.{ext}'
    write_trimesh(path, mesh)
    back = load_mesh(path)
    np.testing.assert_allclose(back.vertices, vertices, atol=1e-5)
    np.testing.assert_array_equal(back.faces, mesh.faces)
    if ext == 'ply':
        np.testing.assert_array_equal(back.vertex_colors, mesh.vertex_colors)
    gz = tmp_path / f'a.{ext}.gz'
    gz.write_bytes(gzip.compress(path.read_bytes()))
    np.testing.assert_array_equal(load_mesh(gz).faces, mesh.faces)
