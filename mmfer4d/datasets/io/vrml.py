# Copyright (c) mmfer4d contributors. All rights reserved.
"""VRML 2.0 ``IndexedFaceSet`` reader and writer (BU-3DFE, BU-4DFE).

BU-3DFE ships every scan as ``F0001_AN01WH_F3D.wrl`` (cropped face) and
``..._RAW.wrl`` (raw scan), and BU-4DFE one ``.wrl`` per frame, in this
grammar::

    #VRML V2.0 utf8
    Shape {
      appearance Appearance {
        texture ImageTexture { url "F0001_AN01WH_F3D.bmp" }
      }
      geometry IndexedFaceSet {
        ccw TRUE
        solid FALSE
        coord Coordinate { point [ x y z, x y z, ... ] }
        coordIndex [ a b c -1, a b c d -1, ... ]
        texCoord TextureCoordinate { point [ u v, u v, ... ] }
        texCoordIndex [ a b c -1, ... ]
      }
    }
    DEF Front Viewpoint { ... }

Numbers are separated by white space and commas over many lines. Polygons
have 3, 4 or 5 corners, each ended by ``-1`` (the last one may lack its
comma, or the ``-1``); they are fan-triangulated. Texture coordinates have
their own list and their own count, indexed per corner by
``texCoordIndex`` (or by ``coordIndex`` when it is absent, as the VRML 97
specification says). Parsing is vectorised: one NumPy call per block.
"""
import gzip
import io
import os
import os.path as osp
import re
import warnings
from typing import Optional

import numpy as np

from mmfer4d.structures import Mesh
from ._text import (Skeleton, find_block, line_of, parse_numbers,
                    token_line)
from .errors import MeshReadError

_IFS = re.compile(r'\bIndexedFaceSet\s*\{')
_COORD = re.compile(
    r'\bcoord\s+(?:DEF\s+\S+\s+)?Coordinate\s*\{\s*point\s*\[')
_TEXCOORD = re.compile(
    r'\btexCoord\s+(?:DEF\s+\S+\s+)?TextureCoordinate\s*\{\s*point\s*\[')
_COLOR = re.compile(r'\bcolor\s+(?:DEF\s+\S+\s+)?Color\s*\{\s*color\s*\[')
_COORD_INDEX = re.compile(r'\bcoordIndex\s*\[')
_TEXCOORD_INDEX = re.compile(r'\btexCoordIndex\s*\[')
_COLOR_INDEX = re.compile(r'\bcolorIndex\s*\[')
_CCW_FALSE = re.compile(r'\bccw\s+FALSE\b')
_COLOR_PER_FACE = re.compile(r'\bcolorPerVertex\s+FALSE\b')
_URL = re.compile(r'\bImageTexture\s*\{[^}]*?\burl\s*(\[|"[^"]*")')


def _read_text(path: str) -> str:
    try:
        with open(path, 'rb') as f:
            raw = f.read()
    except OSError as err:
        raise MeshReadError(path, f'cannot open: {err.strerror}') from None
    if raw[:2] == b'\x1f\x8b':  # .wrz / gzipped .wrl
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise MeshReadError(path, f'broken gzip data: {err}') from None
    if not raw.strip():
        raise MeshReadError(path, 'empty file')
    text = raw.decode('utf-8', errors='replace').lstrip('\ufeff')
    if not text.startswith('#VRML V2.0'):
        raise MeshReadError(
            path, f'not a VRML 2.0 file: header is {text[:16]!r}, '
            "expected '#VRML V2.0 utf8'", line=1)
    return text


def _polygons(path, text, block, idx, bound, what):
    """Split an index list at ``-1`` and check it.

    Returns:
        tuple: ``(idx, starts, sizes)``: the list with a final ``-1``, the
        position of each polygon's first corner and its corner count.
    """
    bad = np.flatnonzero((idx < -1) | (idx >= bound))
    if bad.size:
        k = int(bad[0])
        raise MeshReadError(
            path, f'{what} index {int(idx[k])} out of range [0, {bound})',
            line=token_line(text, block[0], block[1], k))
    if idx.size and idx[-1] != -1:
        idx = np.append(idx, -1)
    ends = np.flatnonzero(idx == -1)
    starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64)
    return idx, starts, ends - starts


def _fan(starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Positions in the index list of the fan triangles of each polygon.

    Polygon ``p0 p1 ... pk`` gives triangles ``(p0, pj, pj+1)`` for
    ``j = 1 .. k-1``. Polygons with fewer than 3 corners are dropped.

    Returns:
        np.ndarray: ``(T, 3)`` int64 positions.
    """
    keep = sizes >= 3
    starts, sizes = starts[keep], sizes[keep]
    ntri = sizes - 2
    first = np.cumsum(ntri) - ntri
    total = int(ntri.sum())
    base = np.repeat(starts, ntri)
    j = np.arange(total, dtype=np.int64) - np.repeat(first, ntri) + 1
    return np.stack([base, base + j, base + j + 1], axis=1)


def _load_texture(path: str, sk: Skeleton, text: str, endpos: int,
                  load: bool):
    match = _URL.search(sk.text, 0, endpos)
    if match is None:
        return None, None
    field = match.group(1)
    if field == '[':  # MFString: url [ "a.bmp" "a.png" ]
        start, end = sk.blocks[match.end()]
        field = text[start:end] if end >= 0 else ''
    names = re.findall(r'"([^"]*)"', field)
    if not names:
        return None, None
    folder = osp.dirname(path)
    candidates = [osp.join(folder, name) for name in names if name]
    if not load:
        return None, candidates[0] if candidates else None
    found = next((c for c in candidates if osp.isfile(c)), None)
    if found is None:
        warnings.warn(
            f'{path}: texture file {candidates[0] if candidates else names!r} '
            'not found; geometry loaded without texture')
        return None, candidates[0] if candidates else None
    try:
        from PIL import Image
        with Image.open(found) as img:
            texture = np.asarray(img.convert('RGB'), dtype=np.uint8).copy()
    except Exception as err:  # noqa: BLE001 (any decoder failure)
        warnings.warn(f'{path}: texture file {found!r} could not be read '
                      f'({err}); geometry loaded without texture')
        return None, found
    return texture, found


def read_vrml(path, load_texture: bool = True) -> Mesh:
    """Read a VRML 2.0 ``IndexedFaceSet`` face scan.

    Only the first ``IndexedFaceSet`` is read (BU-3DFE and BU-4DFE files
    hold one); ``Viewpoint`` and other nodes are ignored.

    Args:
        path (str | os.PathLike): The ``.wrl`` file (gzipped ``.wrz`` too).
        load_texture (bool): Read the ``ImageTexture`` image (BMP, PNG,
            JPEG via PIL), resolved relative to the ``.wrl`` file. A missing
            or unreadable image only warns: the geometry still loads.
            Defaults to True.

    Returns:
        Mesh: Vertices in the file's unit (mm for BU-3DFE/BU-4DFE),
        triangles, ``face_uvs`` ``(F, 3, 2)`` when the file has texture
        coordinates, ``texture`` when loaded, ``vertex_colors`` when a
        per-vertex ``Color`` node is present. ``metainfo`` holds ``'path'``
        and, when the file names one, ``'texture_path'``.

    Raises:
        MeshReadError: If the file is missing, empty, not VRML 2.0, has no
            ``IndexedFaceSet``, a block is truncated, a number is malformed,
            NaN or Inf, a point list has a count that is not a multiple of
            its dimension, an index is out of range, or ``texCoordIndex``
            does not match ``coordIndex`` polygon by polygon.
    """
    path = os.fspath(path)
    text = _read_text(path)
    sk = Skeleton(text)
    ifs = _IFS.search(sk.text)
    if ifs is None:
        raise MeshReadError(path, 'no IndexedFaceSet node found')
    nxt = _IFS.search(sk.text, ifs.end())
    seg = (ifs.end(), nxt.start() if nxt else len(sk.text))
    ifs_line = line_of(text, sk.to_text(ifs.start()))

    block = find_block(sk, _COORD, path, 'Coordinate point', text, *seg)
    if block is None:
        raise MeshReadError(path, 'IndexedFaceSet has no coord Coordinate '
                            'point list', line=ifs_line)
    coords = parse_numbers(path, text, *block, np.float64, 'Coordinate point')
    if coords.size % 3:
        raise MeshReadError(
            path, f'Coordinate point holds {coords.size} numbers, not a '
            'multiple of 3 (truncated or a count that lies)',
            line=line_of(text, block[0]))
    finite = np.isfinite(coords)
    if not finite.all():
        k = int(np.flatnonzero(~finite)[0])
        raise MeshReadError(path, f'non-finite coordinate {coords[k]}',
                            line=token_line(text, *block, k))
    vertices = coords.reshape(-1, 3)
    nv = len(vertices)

    iblock = find_block(sk, _COORD_INDEX, path, 'coordIndex', text, *seg)
    if iblock is None:
        raise MeshReadError(path, 'IndexedFaceSet has no coordIndex',
                            line=ifs_line)
    idx = parse_numbers(path, text, *iblock, np.int64, 'coordIndex')
    idx, starts, sizes = _polygons(path, text, iblock, idx, nv, 'coordIndex')
    corners = _fan(starts, sizes)
    faces = idx[corners]

    face_uvs = None
    tblock = find_block(sk, _TEXCOORD, path, 'TextureCoordinate point',
                        text, *seg)
    if tblock is not None:
        uv = parse_numbers(path, text, *tblock, np.float64,
                           'TextureCoordinate point')
        if uv.size % 2:
            raise MeshReadError(
                path, f'TextureCoordinate point holds {uv.size} numbers, '
                'not a multiple of 2', line=line_of(text, tblock[0]))
        if not np.isfinite(uv).all():
            k = int(np.flatnonzero(~np.isfinite(uv))[0])
            raise MeshReadError(path, 'non-finite texture coordinate',
                                line=token_line(text, *tblock, k))
        uv = uv.reshape(-1, 2)
        tiblock = find_block(sk, _TEXCOORD_INDEX, path, 'texCoordIndex',
                             text, *seg)
        if tiblock is None:
            if len(uv) < nv:
                raise MeshReadError(
                    path, f'no texCoordIndex and only {len(uv)} texture '
                    f'coordinates for {nv} vertices',
                    line=line_of(text, tblock[0]))
            tidx = idx
        else:
            tidx = parse_numbers(path, text, *tiblock, np.int64,
                                 'texCoordIndex')
            tidx, tstarts, tsizes = _polygons(path, text, tiblock, tidx,
                                              len(uv), 'texCoordIndex')
            if len(tsizes) != len(sizes) or not np.array_equal(
                    tsizes, sizes):
                raise MeshReadError(
                    path, f'texCoordIndex ({len(tsizes)} polygons) does not '
                    f'match coordIndex ({len(sizes)} polygons) corner by '
                    'corner', line=line_of(text, tiblock[0]))
        face_uvs = uv[tidx[corners]]

    vertex_colors = None
    cblock = find_block(sk, _COLOR, path, 'Color color', text, *seg)
    if cblock is not None and not _COLOR_PER_FACE.search(sk.text, *seg) \
            and not _COLOR_INDEX.search(sk.text, *seg):
        colors = parse_numbers(path, text, *cblock, np.float64, 'Color color')
        if colors.size == nv * 3 and np.isfinite(colors).all():
            vertex_colors = np.round(
                np.clip(colors.reshape(-1, 3), 0, 1) * 255).astype(np.uint8)

    if _CCW_FALSE.search(sk.text, *seg):
        faces = faces[:, ::-1]
        if face_uvs is not None:
            face_uvs = face_uvs[:, ::-1]

    texture, texture_path = _load_texture(path, sk, text, seg[1],
                                          load_texture)
    metainfo = dict(path=path)
    if texture_path is not None:
        metainfo['texture_path'] = texture_path
    return Mesh(
        vertices=vertices,
        faces=faces,
        face_uvs=face_uvs,
        texture=texture,
        vertex_colors=vertex_colors,
        metainfo=metainfo)


def _rows(arr: np.ndarray, fmt: str) -> str:
    buf = io.StringIO()
    np.savetxt(buf, arr, fmt=fmt, newline=',\n')
    return buf.getvalue()[:-2]  # no comma after the last entry


def write_vrml(path, mesh: Mesh, texture_filename: Optional[str] = None):
    """Write a mesh in the BU-3DFE VRML 2.0 grammar.

    Faces are written as triangles ``a b c -1``; per-corner texture
    coordinates are de-duplicated into their own ``TextureCoordinate`` list
    and ``texCoordIndex``. Floats use 9 significant digits, so float32
    values survive a round trip exactly. Three ``Viewpoint`` nodes follow
    the shape, as in BU-3DFE files.

    Args:
        path (str | os.PathLike): Output ``.wrl`` file.
        mesh (Mesh): The mesh.
        texture_filename (str, optional): File name written in the
            ``ImageTexture`` ``url``, relative to ``path``. When
            ``mesh.texture`` is set the image is saved there (format from the
            extension). Defaults to ``<stem>.bmp`` when the mesh has a
            texture; with no texture and no name, no ``appearance`` is
            written. A name without a texture writes the ``url`` only (a
            scan whose image is missing).
    """
    path = os.fspath(path)
    if mesh.texture is not None and texture_filename is None:
        texture_filename = osp.splitext(osp.basename(path))[0] + '.bmp'
    out = ['#VRML V2.0 utf8', '', '# Written by mmfer4d', 'Shape {']
    if texture_filename is not None:
        out += [
            '  appearance Appearance {', '    texture ImageTexture {',
            f'      url "{texture_filename}"', '    }', '  }'
        ]
    out += [
        '  geometry IndexedFaceSet {', '    ccw TRUE', '    solid FALSE',
        '    coord Coordinate {', '      point ['
    ]
    out.append(_rows(mesh.vertices.astype(np.float64), '%.9g'))
    out += ['      ]', '    }', '    coordIndex [']
    faces = np.concatenate(
        [mesh.faces.astype(np.int64),
         -np.ones((mesh.num_faces, 1), np.int64)], axis=1)
    out.append(_rows(faces, '%d'))
    out.append('    ]')
    if mesh.face_uvs is not None:
        uv, inverse = np.unique(
            mesh.face_uvs.reshape(-1, 2), axis=0, return_inverse=True)
        tidx = np.concatenate([
            inverse.reshape(-1, 3).astype(np.int64),
            -np.ones((mesh.num_faces, 1), np.int64)
        ], axis=1)
        out += ['    texCoord TextureCoordinate {', '      point [']
        out.append(_rows(uv.astype(np.float64), '%.9g'))
        out += ['      ]', '    }', '    texCoordIndex [']
        out.append(_rows(tidx, '%d'))
        out.append('    ]')
    out += ['  }', '}']
    for name, pos, rot in (('Front', '0 0 500', '0 1 0 0'),
                           ('Left', '-500 0 0', '0 1 0 -1.5708'),
                           ('Right', '500 0 0', '0 1 0 1.5708')):
        out.append(f'DEF {name} Viewpoint {{ position {pos} '
                   f'orientation {rot} description "{name}" }}')
    with open(path, 'w', encoding='utf-8') as f:
        f.write('\n'.join(out) + '\n')
    if mesh.texture is not None:
        from PIL import Image
        Image.fromarray(np.ascontiguousarray(mesh.texture, np.uint8)).save(
            osp.join(osp.dirname(path), texture_filename))
