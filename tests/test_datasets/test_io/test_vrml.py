# Copyright (c) mmfer4d contributors. All rights reserved.
"""The flat layout (a top-level Shape), typed by hand, broken files, and
the writer's round trip (which only shows writer and reader agree; the
format tests are in test_vrml_scene.py)."""
import gzip
import warnings

import numpy as np
import pytest
from PIL import Image

from mmfer4d.datasets.io import MeshReadError, read_vrml, write_vrml
from mmfer4d.structures import Mesh

# A BU-3DFE-style file: a triangle, a quad, a pentagon and a final quad
# whose "-1" is missing; a comma missing between two points; texture
# coordinates with their own count (4) and index list; Viewpoint trailers.
BU3DFE_LIKE = """#VRML V2.0 utf8

Shape {
  appearance Appearance {
    texture ImageTexture {
      url "F0001_AN01WH_F3D.bmp"
    }
  }
  geometry DEF Face IndexedFaceSet {
    ccw TRUE
    solid FALSE
    coord DEF co Coordinate {
      point [
        0 0 0, 1.5 0 0,
        1.5 1 0
        0 1 -2.25, 0.5 2 1,
        2 2 3.125
      ]
    }
    coordIndex [
      0 1 2 -1,
      0 1 2 3 -1, 0 1 2 4 3 -1,
      1 5 2 4
    ]
    texCoord TextureCoordinate {
      point [ 0 0, 1 0, 1 1, 0 1 ]
    }
    texCoordIndex [
      0 1 2 -1, 0 1 2 3 -1, 0 1 2 3 3 -1, 1 2 2 0 -1
    ]
  }
}
DEF Front Viewpoint { position 0 0 500 orientation 0 1 0 0 }
DEF Left Viewpoint { position -500 0 0 orientation 0 1 0 -1.57 }
"""

EXPECTED_VERTICES = np.array(
    [[0, 0, 0], [1.5, 0, 0], [1.5, 1, 0], [0, 1, -2.25], [0.5, 2, 1],
     [2, 2, 3.125]], np.float32)
# Fan triangulation: (p0, pj, pj+1).
EXPECTED_FACES = np.array([[0, 1, 2], [0, 1, 2], [0, 2, 3], [0, 1, 2],
                           [0, 2, 4], [0, 4, 3], [1, 5, 2], [1, 2, 4]])
UV = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float32)
EXPECTED_UV_INDEX = np.array([[0, 1, 2], [0, 1, 2], [0, 2, 3], [0, 1, 2],
                              [0, 2, 3], [0, 3, 3], [1, 2, 2], [1, 2, 0]])


def _write(path, text):
    path.write_text(text)
    return path


def test_reads_mixed_polygons_exactly(tmp_path):
    path = _write(tmp_path / 'F0001_AN01WH_F3D.wrl', BU3DFE_LIKE)
    with pytest.warns(UserWarning, match='F0001_AN01WH_F3D.bmp'):
        mesh = read_vrml(path)
    assert mesh.num_vertices == 6 and mesh.num_faces == 8
    np.testing.assert_array_equal(mesh.vertices, EXPECTED_VERTICES)
    np.testing.assert_array_equal(mesh.faces, EXPECTED_FACES)
    assert mesh.faces.dtype == np.int32 and mesh.vertices.dtype == np.float32
    np.testing.assert_array_equal(mesh.face_uvs, UV[EXPECTED_UV_INDEX])
    assert mesh.texture is None  # missing image: geometry only
    assert mesh.path == str(path)
    mesh.validate()


def test_reads_texture_next_to_file(tmp_path):
    path = _write(tmp_path / 'F0001_AN01WH_F3D.wrl', BU3DFE_LIKE)
    image = np.random.default_rng(0).integers(0, 256, (5, 7, 3), np.uint8)
    Image.fromarray(image).save(tmp_path / 'F0001_AN01WH_F3D.bmp')
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        mesh = read_vrml(path)
        no_texture = read_vrml(path, load_texture=False)
    np.testing.assert_array_equal(mesh.texture, image)
    assert mesh.metainfo['texture_path'].endswith('F0001_AN01WH_F3D.bmp')
    assert no_texture.texture is None and no_texture.face_uvs is not None


def test_texcoords_without_index_follow_coord_index(tmp_path):
    text = """#VRML V2.0 utf8
Shape { geometry IndexedFaceSet {
  coord Coordinate { point [ 0 0 0, 1 0 0, 0 1 0 ] }
  coordIndex [ 2 1 0 -1 ]
  texCoord TextureCoordinate { point [ 0 0, 1 0, 0 1 ] }
} }"""
    mesh = read_vrml(_write(tmp_path / 'a.wrl', text))
    np.testing.assert_array_equal(mesh.face_uvs[0], [[0, 1], [1, 0], [0, 0]])


def test_ccw_false_flips_winding_and_vertex_colors(tmp_path):
    text = """#VRML V2.0 utf8
Shape { geometry IndexedFaceSet { ccw FALSE
  coord Coordinate { point [ 0 0 0, 1 0 0, 0 1 0 ] }
  color Color { color [ 1 0 0, 0 1 0, 0 0 0.5 ] }
  coordIndex [ 0 1 2 -1 ] } }"""
    mesh = read_vrml(_write(tmp_path / 'a.wrl', text))
    np.testing.assert_array_equal(mesh.faces, [[2, 1, 0]])
    np.testing.assert_array_equal(mesh.vertex_colors,
                                  [[255, 0, 0], [0, 255, 0], [0, 0, 128]])


def test_gzipped_file(tmp_path):
    path = tmp_path / 'a.wrl'
    path.write_bytes(gzip.compress(BU3DFE_LIKE.encode()))
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # no texture wanted: no warning
        mesh = read_vrml(path, load_texture=False)
    assert mesh.num_faces == 8


def test_round_trip_with_texture(tmp_path):
    rng = np.random.default_rng(1)
    vertices = rng.normal(0, 50, (30, 3)).astype(np.float32)
    faces = rng.integers(0, 30, (40, 3)).astype(np.int32)
    face_uvs = rng.integers(0, 5, (40, 3, 2)).astype(np.float32) / 4
    texture = rng.integers(0, 256, (6, 4, 3), np.uint8)
    mesh = Mesh(vertices, faces, face_uvs=face_uvs, texture=texture)
    path = tmp_path / 'scan.wrl'
    write_vrml(path, mesh)
    assert (tmp_path / 'scan.bmp').is_file()
    assert '"scan.bmp"' in path.read_text()
    assert 'DEF scan Transform {\n  children [\n    Shape {' in \
        path.read_text()  # the scanners' layout
    back = read_vrml(path)
    np.testing.assert_array_equal(back.vertices, vertices)
    np.testing.assert_array_equal(back.faces, faces)
    np.testing.assert_array_equal(back.face_uvs, face_uvs)
    np.testing.assert_array_equal(back.texture, texture)
    # Texture coordinates are de-duplicated: their own, smaller count.
    text = path.read_text()
    block = text[text.index('TextureCoordinate'):]
    block = block[block.index('[') + 1:block.index(']')]
    assert len(block.replace(',', ' ').split()) // 2 == len(
        np.unique(face_uvs.reshape(-1, 2), axis=0)) < 120


def test_round_trip_named_missing_texture(tmp_path):
    mesh = Mesh(np.eye(3, dtype=np.float32), np.array([[0, 1, 2]]))
    path = tmp_path / 'a.wrl'
    write_vrml(path, mesh, texture_filename='gone.bmp')
    with pytest.warns(UserWarning, match='gone.bmp'):
        back = read_vrml(path)
    np.testing.assert_array_equal(back.vertices, mesh.vertices)


GOOD_HEAD = ('#VRML V2.0 utf8\nShape { geometry IndexedFaceSet {\n'
             '  coord Coordinate { point [\n')


def _broken_cases():
    return {
        'empty': '',
        'blank': '   \n\n',
        'binary': b'\x89PNG\r\n\x1a\n\x00\x00\xff\xfe' * 20,
        'wrong_header': '#VRML V1.0 ascii\nSeparator { }',
        'no_faceset': '#VRML V2.0 utf8\nShape { }',
        'truncated': GOOD_HEAD + '0 0 0, 1 0 0, 0 1',
        'truncated_index': GOOD_HEAD + '0 0 0, 1 0 0, 0 1 0 ] }\n'
        '  coordIndex [ 0 1 2 -1, 0 1',
        'count_lies': GOOD_HEAD + '0 0 0, 1 0 0, 0 1 ] }\n'
        '  coordIndex [ 0 1 2 -1 ] } }',
        'index_out_of_range': GOOD_HEAD + '0 0 0, 1 0 0, 0 1 0 ] }\n'
        '  coordIndex [ 0 1 2 -1,\n 0 1 3 -1 ] } }',
        'negative_index': GOOD_HEAD + '0 0 0, 1 0 0, 0 1 0 ] }\n'
        '  coordIndex [ 0 1 -2 -1 ] } }',
        'nan': GOOD_HEAD + '0 0 0, nan 0 0, 0 1 0 ] }\n'
        '  coordIndex [ 0 1 2 -1 ] } }',
        'inf': GOOD_HEAD + '0 0 0, 1 0 0, 0 1 -inf ] }\n'
        '  coordIndex [ 0 1 2 -1 ] } }',
        'bad_token': GOOD_HEAD + '0 0 0, 1 0 0, 0 1 0x ] }\n'
        '  coordIndex [ 0 1 2 -1 ] } }',
        'float_index': GOOD_HEAD + '0 0 0, 1 0 0, 0 1 0 ] }\n'
        '  coordIndex [ 0 1.5 2 -1 ] } }',
        'no_coord_index': GOOD_HEAD + '0 0 0 ] } } }',
        'texcoord_mismatch': GOOD_HEAD + '0 0 0, 1 0 0, 0 1 0 ] }\n'
        '  coordIndex [ 0 1 2 -1 ]\n'
        '  texCoord TextureCoordinate { point [ 0 0, 1 0, 0 1 ] }\n'
        '  texCoordIndex [ 0 1 2 0 -1 ] } }',
        'texcoord_out_of_range': GOOD_HEAD + '0 0 0, 1 0 0, 0 1 0 ] }\n'
        '  coordIndex [ 0 1 2 -1 ]\n'
        '  texCoord TextureCoordinate { point [ 0 0, 1 0, 0 1 ] }\n'
        '  texCoordIndex [ 0 1 3 -1 ] } }',
        'texcoord_odd': GOOD_HEAD + '0 0 0, 1 0 0, 0 1 0 ] }\n'
        '  coordIndex [ 0 1 2 -1 ]\n'
        '  texCoord TextureCoordinate { point [ 0 0, 1 0, 0 ] } } }',
    }


@pytest.mark.parametrize('case', sorted(_broken_cases()))
def test_broken_files_raise_with_path(tmp_path, case):
    content = _broken_cases()[case]
    path = tmp_path / f'{case}.wrl'
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(MeshReadError, match=str(path)) as info:
        read_vrml(path)
    assert info.value.path == str(path)


def test_error_names_the_line(tmp_path):
    path = tmp_path / 'a.wrl'
    path.write_text(_broken_cases()['index_out_of_range'])
    with pytest.raises(MeshReadError, match=r'index 3 out of range \[0, 3\)'
                       r' \(line 6\)'):
        read_vrml(path)
    path.write_text(_broken_cases()['nan'])
    with pytest.raises(MeshReadError, match=r'non-finite.*\(line 4\)'):
        read_vrml(path)


def test_missing_file(tmp_path):
    with pytest.raises(MeshReadError, match='nope.wrl'):
        read_vrml(tmp_path / 'nope.wrl')
