# Copyright (c) mmfer4d contributors. All rights reserved.
"""OBJ fixtures typed by hand from the Wavefront OBJ description."""
import warnings

import numpy as np
import pytest
from PIL import Image

from mmfer4d.datasets.io import MeshReadError, load_mesh, read_obj

# A textured quad and a triangle as a BP4D-style export writes them:
# mtllib, v, vt, vn, usemtl, f v/vt/vn, comments, groups and smoothing.
TEXTURED = """\
# exported by a scanner tool (hand-typed fixture)
mtllib face.mtl
o face
v -1.5 0 10
v 1.5 0 10
v 1.5 2 11
v -1.5 2 11.5
v 0 3 12
vt 0 0
vt 1 0
vt 1 1
vt 0 1
vt 0.5 1
vn 0 0 1
g skin
usemtl skin
s 1
f 1/1/1 2/2/1 3/3/1 4/4/1
f 4/4/1 3/3/1 5/5/1
"""
MTL = """\
# material library
newmtl skin
Ka 1 1 1
Kd 1 1 1
map_Kd -s 1 1 1 -o 0 0 0 face.png
"""
VERTICES = np.array([[-1.5, 0, 10], [1.5, 0, 10], [1.5, 2, 11],
                     [-1.5, 2, 11.5], [0, 3, 12]], np.float32)
FACES = np.array([[0, 1, 2], [0, 2, 3], [3, 2, 4]])
UV = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0.5, 1]], np.float32)


def _write(tmp_path, text, name='scan.obj'):
    path = tmp_path / name
    path.write_bytes(text.encode('latin-1'))
    return path


def test_textured_obj_with_mtl(tmp_path):
    path = _write(tmp_path, TEXTURED)
    (tmp_path / 'face.mtl').write_text(MTL)
    image = np.random.default_rng(0).integers(0, 256, (4, 5, 3), np.uint8)
    Image.fromarray(image).save(tmp_path / 'face.png')
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        mesh = load_mesh(path)
    np.testing.assert_array_equal(mesh.vertices, VERTICES)
    np.testing.assert_array_equal(mesh.faces, FACES)
    np.testing.assert_array_equal(mesh.face_uvs, UV[FACES])
    np.testing.assert_array_equal(mesh.texture, image)
    assert mesh.metainfo['texture_path'].endswith('face.png')


def test_missing_mtl_warns_and_keeps_geometry(tmp_path):
    path = _write(tmp_path, TEXTURED)
    with pytest.warns(UserWarning, match='face.mtl'):
        mesh = read_obj(path)
    assert mesh.texture is None and mesh.face_uvs is not None


def test_corner_formats_relative_indices_and_colors(tmp_path):
    path = _write(tmp_path, """v 0 0 0 1 0 0
v 1 0 0 0 1 0
v 0 1 0 0 0 1
f -3 -2 -1
v 5 0 0 1 1 1
v 6 0 0 1 1 1
v 5 1 0 1 1 1
vn 0 0 1
f -3//1 -2//1 -1//1
f 1 4 \\
  2
""")
    mesh = read_obj(path)
    np.testing.assert_array_equal(mesh.faces, [[0, 1, 2], [3, 4, 5],
                                               [0, 3, 1]])
    np.testing.assert_array_equal(mesh.vertex_colors[:3],
                                  [[255, 0, 0], [0, 255, 0], [0, 0, 255]])
    assert mesh.face_uvs is None


def test_crlf_latin1_comment_and_w_coordinate(tmp_path):
    text = ('# auteur : Jos\xe9\r\nv 0 0 0 1.0\r\nv 1 0 0 1.0\r\n'
            'v 0 1 0 1.0\r\n\r\nf 1 2 3\r\n')
    mesh = read_obj(_write(tmp_path, text))
    np.testing.assert_array_equal(mesh.vertices,
                                  [[0, 0, 0], [1, 0, 0], [0, 1, 0]])


def test_bytes_and_non_utf8_paths(tmp_path):
    text = 'v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n'
    name = b'scan_\xff.obj'  # not valid UTF-8
    path = bytes(tmp_path) + b'/' + name
    with open(path, 'wb') as f:
        f.write(text.encode())
    mesh = load_mesh(path)
    assert mesh.num_faces == 1 and isinstance(mesh.path, str)
    with open(path, 'ab') as f:
        f.write(b'f 1 2 9\n')
    with pytest.raises(MeshReadError, match='out of range') as info:
        load_mesh(path)
    str(info.value).encode('utf-8')  # printable, whatever the name


@pytest.mark.parametrize('text,reason', [
    ('v 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n', r'v line with 2 values.*line 1'),
    ('v 0 0 0 1 2\nv 1 0 0\nv 0 1 0\nf 1 2 3\n', 'v line with 5 values'),
    ('v 0 0 0\nv 1 0 0\nv 0 1 0\nf 0 1 2\n', r'index 0 .*start at 1'),
    ('v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2\n', r'2 corners.*line 4'),
    ('v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 4\n', r'index 4 out of range.*'
     'defines 3'),
    ('v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 -4\n', 'index -4 out of range'),
    ('v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1/ 2 3\n', 'malformed face corner'),
    ('v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1/1 2/1 3/1\n',
     'texture coordinate index 1 out of range'),
    ('v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3.5\n', 'bad integer'),
    ('v 0 0 0\nv 1 x 0\nv 0 1 0\nf 1 2 3\n', r"bad number 'x'.*line 2"),
    ('v 0 0 0\nv 1 0 0\nv 0 1 0\n', 'not a face mesh'),
    ('v 1e300 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n', 'overflows float32'),
    ('v nan 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n', 'NaN or Inf'),
    ('', 'empty file'),
])
def test_lies_and_bad_values_raise(tmp_path, text, reason):
    path = _write(tmp_path, text)
    with pytest.raises(MeshReadError, match=reason) as info:
        read_obj(path)
    assert info.value.path == str(path)
