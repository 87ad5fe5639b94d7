# Copyright (c) mmfer4d contributors. All rights reserved.
"""``.bnt`` fixtures packed with ``struct`` from the layout that Savran's
``read_bntfile.m`` (the Bosphorus reader) documents: uint16 nrows, uint16
ncols, float64 zmin, uint16 len, char imfile[len], uint32 n, then n float64
in column-major (n / 5, 5) order, columns x y z u v."""
import struct
import warnings

import numpy as np
import pytest
from PIL import Image

from mmfer4d.datasets.io import MeshReadError, grid_faces, read_bnt, write_bnt

ZMIN = -1000000000.0


def _grid(rows=4, cols=5):
    """A tilted plane ``z = x + 2 y`` on a grid, row 0 at the bottom, with
    two background points (which kill 4 + 2 cells)."""
    r, c = np.mgrid[0:rows, 0:cols].astype(np.float64)
    x, y = c * 0.5, r * 0.5
    grid = np.stack([x, y, x + 2 * y, c / (cols - 1), r / (rows - 1)], -1)
    grid[1, 2, 2] = ZMIN  # interior point: 4 cells lost
    grid[3, 4, 2] = ZMIN  # top-right corner: 1 cell lost
    grid[1, 2, :2] = grid[3, 4, :2] = ZMIN
    return grid


def _pack(grid, name=b''):
    """The layout above, typed here independently of ``write_bnt``."""
    rows, cols, _ = grid.shape
    columns = grid.reshape(rows * cols, 5).T  # x..., y..., z..., u..., v...
    return (struct.pack('<HHdH', rows, cols, ZMIN, len(name)) + name +
            struct.pack('<I', rows * cols * 5) +
            struct.pack(f'<{columns.size}d', *columns.ravel()))


def test_reads_grid_with_background(tmp_path):
    grid = _grid()
    path = tmp_path / 'bs000_E_HAPPY_0.bnt'
    path.write_bytes(_pack(grid, b'bs000_E_HAPPY_0.png'))
    with pytest.warns(UserWarning, match='bs000_E_HAPPY_0.png'):
        mesh = read_bnt(path)
    # 20 points - 2 background; 3 x 4 = 12 cells - 5 touching background.
    assert mesh.num_vertices == 18
    assert mesh.num_faces == 2 * 7
    flat = grid.reshape(-1, 5)
    valid = flat[:, 2] != ZMIN
    np.testing.assert_array_equal(mesh.vertices, flat[valid, :3])
    assert mesh.metainfo['grid_shape'] == (4, 5)
    np.testing.assert_array_equal(mesh.metainfo['grid_index'],
                                  np.flatnonzero(valid))
    mesh.validate()
    # Rows run bottom-up: triangles face +z (towards the viewer), i.e. the
    # normal of z = x + 2y, (-1, -2, 1), has positive z.
    v = mesh.vertices[mesh.faces]
    normal = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
    np.testing.assert_allclose(
        normal / np.linalg.norm(normal, axis=1, keepdims=True),
        np.tile([-1, -2, 1], (14, 1)) / np.sqrt(6), atol=1e-6)
    # UVs follow the u, v columns of each corner.
    uv = flat[valid, 3:5][mesh.faces]
    np.testing.assert_allclose(mesh.face_uvs, uv, atol=1e-7)


def test_texture_loaded_when_present(tmp_path):
    image = np.random.default_rng(0).integers(0, 256, (4, 6, 3), np.uint8)
    Image.fromarray(image).save(tmp_path / 'tex.png')
    path = tmp_path / 'a.bnt'
    path.write_bytes(_pack(_grid(), b'tex.png'))
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        mesh = read_bnt(path)
        assert read_bnt(path, load_texture=False).texture is None
    np.testing.assert_array_equal(mesh.texture, image)


def test_grid_faces_counts():
    valid = np.ones((3, 3), bool)
    assert grid_faces(valid).shape == (8, 3)
    valid[1, 1] = False
    assert grid_faces(valid).shape == (0, 3)


def _header(rows, cols, name=b'', count=None):
    count = rows * cols * 5 if count is None else count
    return struct.pack('<HHdH', rows, cols, ZMIN, len(name)) + name + \
        struct.pack('<I', count)


def _broken_cases():
    good = _header(2, 2) + np.ones(20).tobytes()
    nan = np.ones((5, 4))
    nan[1, 3] = np.nan  # y of point 3
    return {
        'empty': (b'', 'empty file'),
        'short_header': (b'\x02\x00\x02\x00', 'truncated header'),
        'truncated_name': (struct.pack('<HHdH', 2, 2, ZMIN, 50) + b'ab',
                           'truncated header'),
        'truncated_data': (good[:-12], 'truncated data'),
        'count_lies': (_header(2, 2, count=25) + np.ones(25).tobytes(),
                       'value count 25'),
        'zero_rows': (_header(0, 2) + b'', 'bad grid size'),
        'garbage': (np.random.default_rng(5).integers(
            0, 256, 300, np.uint8).tobytes(), None),
        'nan': (_header(2, 2) + nan.astype('<f8').tobytes(), 'non-finite'),
        'binary_name': (_header(2, 2, name=b'\xff\xfe') +
                        np.ones(20).tobytes(), 'not ASCII'),
    }


@pytest.mark.parametrize('case', sorted(_broken_cases()))
def test_broken_files_raise_with_path(tmp_path, case):
    content, reason = _broken_cases()[case]
    path = tmp_path / f'{case}.bnt'
    path.write_bytes(content)
    with pytest.raises(MeshReadError, match=reason) as info:
        read_bnt(path)
    assert str(path) in str(info.value)


def test_nan_error_gives_byte_offset(tmp_path):
    content, _ = _broken_cases()['nan']
    path = tmp_path / 'a.bnt'
    path.write_bytes(content)
    with pytest.raises(MeshReadError) as info:
        read_bnt(path)
    # Header is 18 bytes; y is column 1 of 4 points: value 1 * 4 + 3.
    assert info.value.offset == 18 + 8 * 7


def test_nan_in_background_is_ignored(tmp_path):
    grid = _grid()
    grid[1, 2, 0] = np.nan  # x of a background point
    path = tmp_path / 'a.bnt'
    path.write_bytes(_pack(grid))
    assert read_bnt(path).num_vertices == 18


@pytest.mark.parametrize('edit,reason', [
    (lambda g: g[..., 2].fill(ZMIN), 'every one of the 20 grid points is '
     'background'),
    (lambda g: g[::2, ::2, 2].fill(ZMIN) or g[1::2, 1::2, 2].fill(ZMIN),
     'no 2 x 2 cell'),
    (lambda g: g[0, 0].__setitem__(3, np.nan), 'non-finite texture'),
    (lambda g: g[0, 0].__setitem__(0, 1e300), 'overflows float32'),
])
def test_empty_or_bad_geometry(tmp_path, edit, reason):
    grid = _grid()
    edit(grid)
    path = tmp_path / 'a.bnt'
    path.write_bytes(_pack(grid))
    with pytest.raises(MeshReadError, match=reason):
        read_bnt(path)


def test_writer_matches_the_layout(tmp_path):
    grid = _grid()
    path = tmp_path / 'a.bnt'
    write_bnt(path, grid, zmin=ZMIN, image_name='x.png')
    assert path.read_bytes() == _pack(grid, b'x.png')
