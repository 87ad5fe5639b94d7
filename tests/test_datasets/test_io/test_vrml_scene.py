# Copyright (c) mmfer4d contributors. All rights reserved.
"""VRML97 scene-graph fixtures typed by hand from ISO/IEC 14772-1.

Every fixture here is written line by line in this file, in the layout the
BU-3DFE / BU-4DFE scanner software exports (geometry nested in ``DEF <name>
Transform { children [ Shape { ... } ] }``, trailing ``Viewpoint``) or in
another valid VRML97 shape; none comes from the project's writer. Expected
coordinates are computed by hand in the comments.
"""
import gzip
import math
import warnings

import numpy as np
import pytest
from PIL import Image

from mmfer4d.datasets.io import MeshReadError, load_mesh, read_vrml

# The BU-3DFE layout: exporter comment, DEF'd Transform holding one Shape,
# material + texture, normals (not read), creaseAngle, "a, b, c, -1," index
# lines, a quad, a missing final -1, and a trailing DEF'd Viewpoint.
BU3DFE_NESTED = """\
#VRML V2.0 utf8
# Produced by the scanner's VRML exporter (hand-typed test fixture)
DEF F0001_AN01WH_F3D Transform {
  children [
    Shape {
      appearance Appearance {
        material Material {
          diffuseColor 0.8 0.8 0.8
        }
        texture ImageTexture {
          url "F0001_AN01WH_F3D.bmp"
          repeatS FALSE
          repeatT FALSE
        }
      }
      geometry IndexedFaceSet {
        creaseAngle 1.5
        solid FALSE
        coord Coordinate {
          point [
            -10.5 20.25 30,
            12 20.25 31.5,
            12 -8 29,
            -10.5 -8 28.75,
            0 30 40
          ]
        }
        normal Normal {
          vector [
            0 0 1, 0 0 1, 0 0 1, 0 0 1, 0 0 1
          ]
        }
        coordIndex [
          0, 1, 2, -1,
          0, 2, 3, -1,
          4, 1, 0, 3
        ]
        texCoord TextureCoordinate {
          point [
            0 1,
            1 1,
            1 0,
            0 0,
            0.5 0.5
          ]
        }
        texCoordIndex [
          0, 1, 2, -1,
          0, 2, 3, -1,
          4, 1, 0, 3, -1
        ]
      }
    }
  ]
}
DEF Viewpoint1 Viewpoint {
  position 0 0 500
  orientation 0 0 1 0
  fieldOfView 0.785398
  description "Front"
}
"""
NESTED_VERTICES = np.array(
    [[-10.5, 20.25, 30], [12, 20.25, 31.5], [12, -8, 29], [-10.5, -8, 28.75],
     [0, 30, 40]], np.float32)
# The quad 4 1 0 3 fans into (4, 1, 0) and (4, 0, 3).
NESTED_FACES = np.array([[0, 1, 2], [0, 2, 3], [4, 1, 0], [4, 0, 3]])
NESTED_UV = np.array([[0, 1], [1, 1], [1, 0], [0, 0], [0.5, 0.5]],
                     np.float32)


def _write(tmp_path, text, name='scan.wrl', newline='\n'):
    path = tmp_path / name
    path.write_bytes(text.replace('\n', newline).encode('utf-8'))
    return path


def _read(path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # missing texture images
        return read_vrml(path, **kwargs)


def _check_nested(mesh):
    np.testing.assert_array_equal(mesh.vertices, NESTED_VERTICES)
    np.testing.assert_array_equal(mesh.faces, NESTED_FACES)
    np.testing.assert_array_equal(mesh.face_uvs, NESTED_UV[NESTED_FACES])


def test_bu3dfe_nested_layout(tmp_path):
    path = _write(tmp_path, BU3DFE_NESTED, 'F0001_AN01WH_F3D.wrl')
    with pytest.warns(UserWarning, match='F0001_AN01WH_F3D.bmp'):
        mesh = read_vrml(path)
    _check_nested(mesh)
    assert mesh.metainfo['num_shapes'] == 1
    assert mesh.metainfo['texture_path'].endswith('F0001_AN01WH_F3D.bmp')


def test_bu3dfe_nested_layout_with_texture(tmp_path):
    path = _write(tmp_path, BU3DFE_NESTED, 'F0001_AN01WH_F3D.wrl')
    image = np.random.default_rng(0).integers(0, 256, (6, 4, 3), np.uint8)
    Image.fromarray(image).save(tmp_path / 'F0001_AN01WH_F3D.bmp')
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        mesh = load_mesh(path)
    np.testing.assert_array_equal(mesh.texture, image)
    _check_nested(mesh)


@pytest.mark.parametrize('newline', ['\r\n', '\r'])
def test_crlf_and_cr_line_ends(tmp_path, newline):
    _check_nested(_read(_write(tmp_path, BU3DFE_NESTED, newline=newline)))


@pytest.mark.parametrize('name', ['scan.wrl.gz', 'scan.wrz', 'scan.wrl'])
def test_gzip(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(gzip.compress(BU3DFE_NESTED.encode()))
    _check_nested(_read(path, load_texture=False))
    _check_nested(load_mesh(path, load_texture=False))


def test_multi_member_gzip(tmp_path):
    raw = BU3DFE_NESTED.encode()
    path = tmp_path / 'a.wrl.gz'
    path.write_bytes(gzip.compress(raw[:100]) + gzip.compress(raw[100:]))
    _check_nested(_read(path, load_texture=False))


def test_bom_and_latin1_comment(tmp_path):
    text = BU3DFE_NESTED.replace('(hand-typed test fixture)',
                                 'by Jos\xe9 (Latin-1 byte)')
    path = tmp_path / 'a.wrl'
    path.write_bytes(text.encode('latin-1'))
    _check_nested(_read(path))
    path.write_bytes(b'\xef\xbb\xbf' + BU3DFE_NESTED.encode())
    _check_nested(_read(path))


SHAPE = """Shape {{
  geometry IndexedFaceSet {{
    coord Coordinate {{ point [ {points} ] }}
    coordIndex [ {index} ]
  }}
}}"""
TRIANGLE = SHAPE.format(points='1 0 0, 0 1 0, 0 0 1', index='0 1 2 -1')


def _scene(tmp_path, body):
    return _read(_write(tmp_path, '#VRML V2.0 utf8\n' + body))


def test_group_in_transform_in_anchor(tmp_path):
    mesh = _scene(tmp_path, f"""
Anchor {{
  url "http://example.org/info.html"
  description "a link"
  children [
    Collision {{
      collide FALSE
      children Transform {{
        translation 10 0 0
        children [ Group {{ children [ {TRIANGLE} ] }} ]
      }}
    }}
  ]
}}""")
    np.testing.assert_array_equal(mesh.vertices,
                                  [[11, 0, 0], [10, 1, 0], [10, 0, 1]])


R90 = f'{math.pi / 2!r}'
R45 = f'{math.pi / 4!r}'
UNIT = SHAPE.format(points='1 0 0, 0 1 0, 2 0 0, 1 1 1, 1 -1 0',
                    index='0 1 2 -1, 2 3 4 -1')


@pytest.mark.parametrize('fields,expected', [
    # translation: P + T
    ('translation 1 2 3',
     [[2, 2, 3], [1, 3, 3], [3, 2, 3], [2, 3, 4], [2, 1, 3]]),
    # rotation about z by 90 degrees: (x, y, z) -> (-y, x, z)
    (f'rotation 0 0 1 {R90}',
     [[0, 1, 0], [-1, 0, 0], [0, 2, 0], [-1, 1, 1], [1, 1, 0]]),
    # an unnormalised axis means the same rotation
    (f'rotation 0 0 7 {R90}',
     [[0, 1, 0], [-1, 0, 0], [0, 2, 0], [-1, 1, 1], [1, 1, 0]]),
    # scale: component-wise
    ('scale 2 3 4',
     [[2, 0, 0], [0, 3, 0], [4, 0, 0], [2, 3, 4], [2, -3, 0]]),
    # rotation about center C: C + R (P - C); (2,0,0) -> (1,1,0)
    (f'center 1 0 0 rotation 0 0 1 {R90}',
     [[1, 0, 0], [0, -1, 0], [1, 1, 0], [0, 0, 1], [2, 0, 0]]),
    # scale 2 along the 45-degree axis: (1,1,0) -> (2,2,0), (1,-1,0) kept,
    # (1,0,0) = ((1,1,0) + (1,-1,0)) / 2 -> (1.5, 0.5, 0)
    (f'scale 2 1 1 scaleOrientation 0 0 1 {R45}',
     [[1.5, 0.5, 0], [0.5, 1.5, 0], [3, 1, 0], [2, 2, 1], [1, -1, 0]]),
    # all at once, T . C . R . S . -C: (2,0,0) -> (1,0,0) -> (2,0,0)
    # -> (0,2,0) -> (1,2,0) -> (11,2,0); (0,1,0) -> (-1,1,0) -> (-2,1,0)
    # -> (-1,-2,0) -> (0,-2,0) -> (10,-2,0)
    (f'translation 10 0 0 center 1 0 0 rotation 0 0 1 {R90} scale 2 1 1',
     [[11, 0, 0], [10, -2, 0], [11, 2, 0], [10, 0, 1], [12, 0, 0]]),
])
def test_transform_fields(tmp_path, fields, expected):
    mesh = _scene(tmp_path,
                  f'Transform {{ {fields}\n children [ {UNIT} ] }}')
    np.testing.assert_allclose(mesh.vertices, expected, atol=1e-6)
    np.testing.assert_array_equal(mesh.faces, [[0, 1, 2], [2, 3, 4]])


def test_nested_transforms_compose_parent_last(tmp_path):
    # Inner scale first, then the outer translation: (1,0,0) -> (2,0,0)
    # -> (2,0,5); the other order would give (2,0,10).
    mesh = _scene(tmp_path, f"""
DEF Outer Transform {{ translation 0 0 5 children [
  DEF Inner Transform {{ scale 2 2 2 children [ {TRIANGLE} ] }}
] }}""")
    np.testing.assert_allclose(mesh.vertices,
                               [[2, 0, 5], [0, 2, 5], [0, 0, 7]])


def test_mirroring_transform_reverses_winding(tmp_path):
    mesh = _scene(tmp_path,
                  f'Transform {{ scale -1 1 1 children [ {TRIANGLE} ] }}')
    np.testing.assert_allclose(mesh.vertices,
                               [[-1, 0, 0], [0, 1, 0], [0, 0, 1]])
    np.testing.assert_array_equal(mesh.faces, [[2, 1, 0]])


def test_def_use_coordinate_texcoord_and_shape(tmp_path):
    mesh = _scene(tmp_path, """
DEF Left Transform { children [
  DEF Skin Shape {
    geometry IndexedFaceSet {
      coord DEF C Coordinate { point [ 0 0 0, 1 0 0, 1 1 0, 0 1 0 ] }
      coordIndex [ 0 1 2 -1 ]
      texCoord DEF T TextureCoordinate { point [ 0 0, 1 0, 1 1, 0 1 ] }
    }
  }
] }
Transform { translation 0 0 10 children [ USE Skin ] }
Shape {
  geometry IndexedFaceSet {
    coord USE C
    coordIndex [ 0 2 3 -1 ]
    texCoord USE T
    texCoordIndex [ 3 2 1 -1 ]
  }
}""")
    square = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]])
    np.testing.assert_array_equal(
        mesh.vertices, np.concatenate([square, square + [0, 0, 10],
                                       square]))
    np.testing.assert_array_equal(mesh.faces,
                                  [[0, 1, 2], [4, 5, 6], [8, 10, 11]])
    uv = np.array([[0, 0], [1, 0], [1, 1], [0, 1]])
    np.testing.assert_array_equal(
        mesh.face_uvs, [uv[[0, 1, 2]], uv[[0, 1, 2]], uv[[3, 2, 1]]])
    assert mesh.metainfo['num_shapes'] == 3


def test_def_inside_unknown_nodes_and_skipped_statements(tmp_path):
    mesh = _scene(tmp_path, """
# A PROTO, its instance holding a DEF, a Script, ROUTEs, unknown fields.
PROTO Holder [ field SFNode part NULL exposedField MFString note [] ] {
  Group { children IS part }
}
WorldInfo { title "braces { [ in strings ] } and a # hash"
            info [ "line one", "line \\"two\\"" ] }
NavigationInfo { type [ "EXAMINE" "ANY" ] headlight TRUE speed 1.0 }
Background { skyColor [ 0 0 1, 0 0 0.5 ] skyAngle [ 1.57 ] }
Holder { part DEF Shared Coordinate { point [ 0 0 0, 2 0 0, 0 2 0 ] } }
DEF Clock TimeSensor { cycleInterval 2 loop TRUE }
DEF Logic Script {
  eventIn SFTime tick
  field SFInt32 count 0
  field MFNode targets [ ]
  url "javascript: function tick(v) { count = count + 1; }"
}
ROUTE Clock.time TO Logic.tick
Shape {
  appearance Appearance { material Material { transparency 0 } }
  geometry IndexedFaceSet {
    convex TRUE normalPerVertex TRUE creaseAngle 0.5
    coord USE Shared
    coordIndex [ 0 1 2 -1 ]
  }
}""")
    np.testing.assert_array_equal(mesh.vertices,
                                  [[0, 0, 0], [2, 0, 0], [0, 2, 0]])


def test_switch_lod_billboard(tmp_path):
    other = SHAPE.format(points='5 5 5, 6 5 5, 5 6 5', index='0 1 2')
    mesh = _scene(tmp_path, f"""
Switch {{ whichChoice 1 choice [ {TRIANGLE} {other} ] }}
LOD {{ range [ 10 ] level [ Billboard {{ axisOfRotation 0 1 0
                                        children [ {TRIANGLE} ] }}
                           {other} ] }}
Switch {{ choice [ {other} ] }}""")
    # Switch: the second choice; LOD: the first level; the last Switch has
    # whichChoice -1 (its default): nothing.
    np.testing.assert_array_equal(
        mesh.vertices,
        [[5, 5, 5], [6, 5, 5], [5, 6, 5], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    with pytest.raises(MeshReadError, match='no IndexedFaceSet'):
        _scene(tmp_path, f'Switch {{ whichChoice -1 choice [ {other} ] }}')


def test_comments_everywhere(tmp_path):
    mesh = _scene(tmp_path, """# comment after the header
Shape { # on the node line
  geometry IndexedFaceSet { # ] } [ braces in a comment
    coord Coordinate {
      point [ # a comment before the first number
        0 0 0, # first ] point
        1 0 0  # a "quoted" comment
        # a whole comment line: 9 9 9
        0 1 0
      ]
    }
    coordIndex [ 0 # ]
                 1 2 -1 ] # trailing
  }
}""")
    np.testing.assert_array_equal(mesh.vertices,
                                  [[0, 0, 0], [1, 0, 0], [0, 1, 0]])
    np.testing.assert_array_equal(mesh.faces, [[0, 1, 2]])


def test_hash_inside_url_string(tmp_path):
    path = _write(tmp_path, """#VRML V2.0 utf8
Shape { appearance Appearance { texture ImageTexture {
          url [ "missing.png", "face#1.bmp" ] } }
        geometry IndexedFaceSet { coord Coordinate { point [ 0 0 0 1 0 0
        0 1 0 ] } coordIndex [ 0 1 2 -1 ] } }""")
    Image.new('RGB', (2, 2), (9, 8, 7)).save(tmp_path / 'face#1.bmp')
    mesh = read_vrml(path)
    assert mesh.metainfo['texture_path'].endswith('face#1.bmp')
    assert mesh.texture[0, 0].tolist() == [9, 8, 7]


def test_polygons_of_any_size(tmp_path):
    points = '0 0 0, 1 0 0, 2 1 0, 1 2 0, 0 2 0, -1 1 0, 5 5 5'
    # A quad, a pentagon, a hexagon, a 2-corner polygon (dropped) and a
    # final triangle without its -1.
    index = '0 1 2 3 -1, 0 1 2 3 4 -1, 0 1 2 3 4 5 -1, 5 6 -1, 1 2 3'
    mesh = _scene(tmp_path, SHAPE.format(points=points, index=index))
    np.testing.assert_array_equal(mesh.faces, [
        [0, 1, 2], [0, 2, 3],
        [0, 1, 2], [0, 2, 3], [0, 3, 4],
        [0, 1, 2], [0, 2, 3], [0, 3, 4], [0, 4, 5],
        [1, 2, 3]])


@pytest.mark.parametrize('tex_index', ['', 'texCoordIndex [ ]'])
def test_missing_or_empty_texcoord_index_uses_coord_index(tmp_path,
                                                          tex_index):
    mesh = _scene(tmp_path, f"""Shape {{ geometry IndexedFaceSet {{
  coord Coordinate {{ point [ 0 0 0, 1 0 0, 0 1 0, 1 1 0 ] }}
  coordIndex [ 3 1 0 2 -1 ]
  texCoord TextureCoordinate {{ point [ 0 0, 1 0, 0 1, 1 1 ] }}
  {tex_index}
}} }}""")
    uv = np.array([[0, 0], [1, 0], [0, 1], [1, 1]])
    np.testing.assert_array_equal(mesh.face_uvs, [uv[[3, 1, 0]],
                                                  uv[[3, 0, 2]]])


def test_two_shapes_one_texture_kept(tmp_path):
    part = """Shape {{ appearance Appearance {{ texture DEF Img ImageTexture {{
  url "skin.png" }} }} geometry IndexedFaceSet {{
  coord Coordinate {{ point [ {p} ] }} coordIndex [ 0 1 2 -1 ]
  texCoord TextureCoordinate {{ point [ 0 0, 1 0, 0 1 ] }} }} }}"""
    second = """Shape { appearance Appearance { texture USE Img }
  geometry IndexedFaceSet { coord Coordinate { point [ 5 0 0 6 0 0 5 1 0 ] }
  coordIndex [ 0 1 2 -1 ]
  texCoord TextureCoordinate { point [ 1 1, 1 0, 0 1 ] } } }"""
    Image.new('RGB', (3, 3)).save(tmp_path / 'skin.png')
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        mesh = _scene(tmp_path, part.format(p='0 0 0 1 0 0 0 1 0') + second)
    assert mesh.texture.shape == (3, 3, 3) and mesh.num_faces == 2
    np.testing.assert_array_equal(mesh.face_uvs[1], [[1, 1], [1, 0], [0, 1]])


def test_two_shapes_different_textures_dropped_with_warning(tmp_path):
    part = """Shape {{ appearance Appearance {{ texture ImageTexture {{
  url "{url}" }} }} geometry IndexedFaceSet {{
  coord Coordinate {{ point [ 0 0 0 1 0 0 0 1 0 ] }} coordIndex [ 0 1 2 ]
  texCoord TextureCoordinate {{ point [ 0 0, 1 0, 0 1 ] }} }} }}"""
    path = _write(tmp_path, '#VRML V2.0 utf8\n' + part.format(url='a.png') +
                  part.format(url='b.png'))
    with pytest.warns(UserWarning, match='different textures'):
        mesh = read_vrml(path)
    assert mesh.num_faces == 2 and mesh.face_uvs is None
    assert mesh.texture is None


def test_per_vertex_colors_and_ccw_false(tmp_path):
    mesh = _scene(tmp_path, """Shape { geometry IndexedFaceSet { ccw FALSE
  coord Coordinate { point [ 0 0 0, 1 0 0, 0 1 0 ] }
  color Color { color [ 1 0 0, 0 1 0, 0 0 0.5 ] }
  coordIndex [ 0 1 2 -1 ] } }""")
    np.testing.assert_array_equal(mesh.faces, [[2, 1, 0]])
    np.testing.assert_array_equal(mesh.vertex_colors,
                                  [[255, 0, 0], [0, 255, 0], [0, 0, 128]])


def test_hex_integers_and_single_values_without_brackets(tmp_path):
    # SFInt32 may be hexadecimal; an MF field may hold one value unbracketed.
    mesh = _scene(tmp_path, """Shape { geometry IndexedFaceSet {
  coord Coordinate { point 4 5 6 }
  coordIndex [ 0x0 0x0 0x0 -1 ] } }""")
    np.testing.assert_array_equal(mesh.vertices, [[4, 5, 6]])


@pytest.mark.parametrize('body,reason', [
    (f'Transform {{ children [ USE Nope ] }} {TRIANGLE}',
     'USE Nope: no node was DEF Nope'),
    ('WorldInfo { title "never closed }', 'string not closed'),
    (f'Transform {{ children [ {TRIANGLE} ]', 'Transform node .* not closed'),
    (f'Transform {{ translation 1 2 children [ {TRIANGLE} ] }}',
     'translation must be 3 finite numbers'),
    (f'Transform {{ rotation 0 0 0 1 children [ {TRIANGLE} ] }}',
     'zero axis'),
    (f'Transform {{ scale 1e300 1 1 children [ {TRIANGLE} ] }}',
     'overflows float32|beyond float32'),
    ('Shape { geometry IndexedFaceSet { coord NULL coordIndex [ 0 ] } }',
     'no coord Coordinate'),
    (SHAPE.format(points='0 0 0, 1 0 0, 0 1 0', index=''),
     'coordIndex is empty'),
    (SHAPE.format(points='0 0 0, 1 0 0, 0 1 0', index='0 1 -1 1 2 -1'),
     'no polygon of 3 or more corners'),
    (SHAPE.format(points='', index='0 1 2'), 'out of range'),
    (SHAPE.format(points='0 0 0, 1 0 0, 0 1 0', index='0 1 - 2'),
     "bad integer '-'"),
    ('Shape { geometry Box { size 1 1 1 } }', 'Box are not read'),
    ('Viewpoint { position 0 0 1 }', 'top-level nodes: Viewpoint'),
    ('1 2 3', 'expected a node'),
    ('Shape { geometry IndexedFaceSet { coord Coordinate { point [ 0 0 0',
     'number list not closed'),
    ('Group { children [ Shape { } [ ] ] }', 'in a list of nodes'),
    (f'Group {{ children [ {TRIANGLE} }} ]', 'in a list of nodes'),
])
def test_grammar_errors_name_the_problem(tmp_path, body, reason):
    path = _write(tmp_path, '#VRML V2.0 utf8\n' + body)
    with pytest.raises(MeshReadError, match=reason) as info:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            read_vrml(path)
    assert info.value.path == str(path)


def test_error_line_in_nested_layout(tmp_path):
    text = BU3DFE_NESTED.replace('0, 2, 3, -1,\n          4, 1', '0, 2, 3, '
                                 '-1,\n          4, 7')
    with pytest.raises(MeshReadError,
                       match=r'coordIndex index 7 out of range \[0, 5\) '
                       r'\(line 36\)'):
        read_vrml(_write(tmp_path, text))
    text = BU3DFE_NESTED.replace('12 -8 29', '12 -8 nan')
    with pytest.raises(MeshReadError, match=r'non-finite .* \(line 23\)'):
        read_vrml(_write(tmp_path, text))


def test_corrupt_and_truncated_gzip(tmp_path):
    packed = bytearray(gzip.compress(BU3DFE_NESTED.encode()))
    path = tmp_path / 'a.wrl.gz'
    path.write_bytes(bytes(packed[:len(packed) // 2]))
    with pytest.raises(MeshReadError, match='truncated gzip'):
        read_vrml(path)
    packed[40] ^= 0xFF
    path.write_bytes(bytes(packed))
    with pytest.raises(MeshReadError, match='corrupt gzip'):
        read_vrml(path)
