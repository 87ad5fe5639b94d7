# Copyright (c) mmfer4d contributors. All rights reserved.
"""Bosphorus ``.bnt`` range-grid reader and writer.

Layout (binary, little-endian)::

    uint16   nrows
    uint16   ncols
    float64  zmin                 background marker
    uint16   len
    char     name[len]            the 2D image of the scan (e.g. a .png)
    uint32   n                    = nrows * ncols * 5
    float64  data[n]              column-major (nrows * ncols, 5): x y z u v

``data.reshape(5, nrows * ncols).T`` gives one row per grid point, ``x y z``
in mm and ``u v`` normalised texture coordinates; grid point
``p = r * ncols + c`` lies in row ``r`` counted from the bottom. Background
points have ``z == zmin``.
"""
import os
import os.path as osp
import struct
from typing import Optional

import numpy as np

from mmfer4d.structures import Mesh
from ._image import load_texture as _load_texture
from ._mesh import make_mesh
from ._source import as_path, read_bytes
from .errors import MeshReadError


def grid_faces(valid: np.ndarray) -> np.ndarray:
    """Two triangles per 2x2 cell of a range grid whose 4 points are valid.

    Rows run bottom-up (row ``r + 1`` is above row ``r``), so triangles
    ``(p00, p01, p11)`` and ``(p00, p11, p10)`` are counter-clockwise seen
    from +z.

    Args:
        valid (np.ndarray): ``(R, C)`` bool, True where the point is on the
            face.

    Returns:
        np.ndarray: ``(F, 3)`` int64 indices into the flattened grid
        (``r * C + c``).
    """
    rows, cols = valid.shape
    cell = valid[:-1, :-1] & valid[:-1, 1:] & valid[1:, :-1] & valid[1:, 1:]
    r, c = np.nonzero(cell)
    p00 = r * cols + c
    p01, p10 = p00 + 1, p00 + cols
    p11 = p10 + 1
    faces = np.empty((2 * len(p00), 3), dtype=np.int64)
    faces[0::2] = np.stack([p00, p01, p11], axis=1)
    faces[1::2] = np.stack([p00, p11, p10], axis=1)
    return faces


def read_bnt(path, load_texture: bool = True) -> Mesh:
    """Read a Bosphorus ``.bnt`` scan into a triangle mesh.

    Only valid (non-background) points become vertices, in grid order; each
    2x2 cell of valid points gives two triangles.

    Args:
        path (str | os.PathLike): The ``.bnt`` file.
        load_texture (bool): Read the image named in the header, resolved
            next to the ``.bnt`` file. Missing or unreadable: warns, the
            geometry still loads. Defaults to True.

    Returns:
        Mesh: Vertices in mm, triangles, ``face_uvs`` ``(F, 3, 2)`` from the
        ``u v`` columns (taken as origin bottom-left), ``texture`` when
        loaded. ``metainfo`` holds ``'path'``, ``'grid_shape'``
        ``(nrows, ncols)``, ``'grid_index'`` ``(N,)`` (flat grid index of
        each vertex) and ``'texture_path'`` when the header names an image.

    Raises:
        MeshReadError: If the file is missing, empty, truncated, over
            ``ReadLimits.max_bytes``, the header is implausible (zero size,
            undecodable name), the value count ``n`` is not ``nrows * ncols
            * 5``, a valid point has a NaN or Inf coordinate or texture
            coordinate (with its byte offset), or no 2 x 2 cell of valid
            points exists (all background).
    """
    path = as_path(path)
    raw = read_bytes(path, 'BNT file')
    if not raw:
        raise MeshReadError(path, 'empty file')
    if len(raw) < 14:
        raise MeshReadError(path, f'truncated header ({len(raw)} bytes)',
                            offset=len(raw))
    nrows, ncols, zmin, name_len = struct.unpack_from('<HHdH', raw, 0)
    if nrows < 1 or ncols < 1:
        raise MeshReadError(path, f'bad grid size {nrows} x {ncols}',
                            offset=0)
    pos = 14 + name_len
    if len(raw) < pos + 4:
        raise MeshReadError(path, 'truncated header (image name / count)',
                            offset=len(raw))
    try:
        image_name = raw[14:pos].decode('ascii').rstrip('\x00')
    except UnicodeDecodeError:
        raise MeshReadError(path, 'image name is not ASCII (not a .bnt?)',
                            offset=14) from None
    (n, ) = struct.unpack_from('<I', raw, pos)
    pos += 4
    num_points = nrows * ncols
    if n != num_points * 5:
        raise MeshReadError(
            path, f'value count {n} != nrows * ncols * 5 = {num_points * 5} '
            f'(grid {nrows} x {ncols})', offset=pos - 4)
    if len(raw) < pos + 8 * n:
        raise MeshReadError(
            path, f'truncated data: {(len(raw) - pos) // 8} of {n} values',
            offset=len(raw))
    data = np.frombuffer(raw, dtype='<f8', count=n, offset=pos)
    data = data.reshape(5, num_points).T  # (P, 5): x y z u v
    valid = data[:, 2] != zmin
    keep = np.flatnonzero(valid)
    if not keep.size:
        raise MeshReadError(path, f'every one of the {num_points} grid '
                            'points is background (z == zmin): no face')
    bad = ~np.isfinite(data[keep]).all(axis=1)
    if bad.any():
        point = int(keep[np.flatnonzero(bad)[0]])
        col = int(np.flatnonzero(~np.isfinite(data[point]))[0])
        what = 'coordinate' if col < 3 else 'texture coordinate'
        raise MeshReadError(path, f'non-finite {what} at grid point '
                            f'{point}', offset=pos + 8 *
                            (col * num_points + point))

    faces = grid_faces(valid.reshape(nrows, ncols))
    remap = np.full(num_points, -1, dtype=np.int64)
    remap[keep] = np.arange(len(keep))
    face_uvs = data[:, 3:5][faces]
    faces = remap[faces]

    metainfo = dict(
        path=path, grid_shape=(nrows, ncols), grid_index=keep)
    texture = None
    if image_name:
        texture, metainfo['texture_path'] = _load_texture(
            path, [osp.join(osp.dirname(path), image_name)], load_texture)
    if not len(faces):
        raise MeshReadError(path, f'{len(keep)} face points but no 2 x 2 '
                            'cell of them: no triangle')
    return make_mesh(
        path,
        metainfo,
        vertices=data[keep, :3],
        faces=faces,
        face_uvs=face_uvs,
        texture=texture)


def write_bnt(path,
              grid: np.ndarray,
              zmin: float = -1e9,
              image_name: str = '',
              count: Optional[int] = None):
    """Write a ``.bnt`` file (for fixtures and conversions).

    Args:
        path (str | os.PathLike): Output file.
        grid (np.ndarray): ``(R, C, 5)`` float64 ``x y z u v`` per grid
            point, row 0 at the bottom; background points hold
            ``z == zmin``.
        zmin (float): The background marker. Defaults to -1e9.
        image_name (str): Image file name stored in the header. Defaults to
            ''.
        count (int, optional): The value count written in the header;
            only broken fixtures set it. Defaults to ``R * C * 5``.
    """
    grid = np.asarray(grid, dtype=np.float64)
    rows, cols, five = grid.shape
    if five != 5:
        raise ValueError(f'grid must be (R, C, 5), got {grid.shape}')
    name = image_name.encode('ascii')
    data = grid.reshape(rows * cols, 5).T.astype('<f8')  # column-major
    with open(os.fspath(path), 'wb') as f:
        f.write(struct.pack('<HHdH', rows, cols, zmin, len(name)))
        f.write(name)
        f.write(struct.pack('<I', rows * cols * 5 if count is None else count))
        f.write(data.tobytes())
