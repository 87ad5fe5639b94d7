# Copyright (c) mmfer4d contributors. All rights reserved.
"""Wavefront OBJ reader (BP4D-Spontaneous, 4DME and generic meshes).

Follows the OBJ description of Wavefront's *Advanced Visualizer* manual
(appendix B1, "Object Files"): one statement per line, ``#`` comments,
``v x y z [w]`` (also the common ``v x y z r g b`` colour extension),
``vt u [v [w]]``, ``vn``, ``f v1[/vt1[/vn1]] v2... `` with 1-based indices
(negative ones count back from the last vertex defined so far), ``mtllib``
/ ``usemtl`` for materials whose ``map_Kd`` names the texture image. Other
statements (groups, smoothing, lines, curves) are not needed for a face
scan and are skipped.

Strict where a lenient reader would build a wrong mesh: a ``v`` line with
2 or 5 numbers, an index 0 (OBJ counts from 1) or past the vertices, a
face of fewer than 3 corners and a malformed corner (``1/``, ``/2``) are
errors with their line number. Parsing is vectorised
(:class:`~._lines.TextLines`): one NumPy call per kind of line.
"""
import os.path as osp
import warnings
from typing import Dict, List, Optional

import numpy as np

from mmfer4d.structures import Mesh
from ._image import load_texture as _load_texture
from ._lines import TextLines, read_lines
from ._mesh import colors_to_uint8, make_mesh
from ._polygons import fan
from ._source import as_path, read_text
from .errors import MeshReadError, display_path
from .limits import get_read_limits

# Option -> number of arguments, for the map_Kd statement of a .mtl file.
_MAP_OPTIONS = {'-blendu': 1, '-blendv': 1, '-bm': 1, '-boost': 1,
                '-cc': 1, '-clamp': 1, '-imfchan': 1, '-mm': 2, '-o': 3,
                '-s': 3, '-t': 3, '-texres': 1, '-type': 1}


def _tokens_of(lines: TextLines, rows: np.ndarray) -> np.ndarray:
    """Token indices of ``rows`` (line indices), keywords left out."""
    count = lines.line_ntok[rows] - 1
    first = lines.line_tok0[rows] + 1
    return np.repeat(first - (np.cumsum(count) - count), count) + \
        np.arange(int(count.sum()))


def _vertex_values(lines: TextLines, rows: np.ndarray, allowed,
                   what: str):
    """Numbers of ``v`` / ``vt`` lines: ``(values, offsets, counts)``."""
    counts = lines.line_ntok[rows] - 1
    bad = np.flatnonzero(~np.isin(counts, allowed))
    if bad.size:
        k = int(bad[0])
        raise lines.error(
            f'{what} line with {int(counts[k])} values, expected '
            f'{" or ".join(map(str, allowed))}: '
            f'{lines.line_text(rows[k])[:40]!r}', rows[k])
    values = lines.numbers(_tokens_of(lines, rows), np.float64, what)
    return values, np.cumsum(counts) - counts, counts


def _corners(lines: TextLines, rows: np.ndarray, kw: np.ndarray):
    """Vertex and texture-coordinate index (0-based) of every face corner.

    Returns:
        tuple: ``(vertex, texcoord, sizes)``: ``(C,)`` int64 each (texcoord
        -1 where a corner has none), and ``(P,)`` corners per face.
    """
    sizes = lines.line_ntok[rows] - 1
    small = np.flatnonzero(sizes < 3)
    if small.size:
        k = int(small[0])
        raise lines.error(f'face with {int(sizes[k])} corners (a face needs '
                          '3 or more)', rows[k])
    tokens = _tokens_of(lines, rows)
    data = lines.data
    slash_pos = np.flatnonzero(data == 47)
    owner = np.searchsorted(lines.token_pos, slash_pos, 'right') - 1
    nslash = np.bincount(owner, minlength=len(lines.token_pos))[tokens]
    double = data[np.minimum(slash_pos + 1, len(data) - 1)] == 47
    ndouble = np.bincount(owner[double],
                          minlength=len(lines.token_pos))[tokens]
    pos, size = lines.token_pos[tokens], lines.token_len[tokens]
    malformed = (nslash > 2) | (ndouble > 1) | (data[pos] == 47) | \
        (data[pos + size - 1] == 47) | ((ndouble == 1) & (nslash != 2))
    if malformed.any():
        k = int(np.flatnonzero(malformed)[0])
        raise lines.error(
            f'malformed face corner {lines.token(tokens[k])[:20]!r} '
            '(expected v, v/vt, v//vn or v/vt/vn)',
            lines.token_line[tokens[k]])
    per = nslash + 1 - ndouble
    values = lines.numbers(tokens, np.int64, 'f', slash=True)
    offsets = np.cumsum(per) - per
    vertex = values[offsets]
    has_vt = (nslash >= 1) & (ndouble == 0)
    texcoord = np.where(has_vt, values[np.minimum(offsets + 1,
                                                  len(values) - 1)], 0)
    line = lines.token_line[tokens]
    every = np.ones(len(tokens), bool)
    for name, index, used, what in ((b'v', vertex, every, 'vertex'),
                                    (b'vt', texcoord, has_vt,
                                     'texture coordinate')):
        defined = np.cumsum(kw == name)  # per line: defined so far
        total = int(defined[-1])
        zero = np.flatnonzero(used & (index == 0))
        if zero.size:
            raise lines.error(f'{what} index 0 in a face (OBJ indices start '
                              'at 1)', line[zero[0]])
        absolute = np.where(index > 0, index - 1, defined[line] + index)
        bad = np.flatnonzero(used & ((absolute < 0) | (absolute >= total)))
        if bad.size:
            k = int(bad[0])
            raise lines.error(
                f'{what} index {int(index[k])} out of range (the file '
                f'defines {total})', line[k])
        if name == b'v':
            vertex = absolute
        else:
            texcoord = np.where(has_vt, absolute, -1)
    return vertex, texcoord, sizes


def _materials(path: str, mtllibs: List[str]) -> Dict[str, str]:
    """``newmtl`` name -> ``map_Kd`` image path, from the ``.mtl`` files
    (a missing one warns)."""
    out = {}
    for name in mtllibs:
        mtl = osp.join(osp.dirname(path), name)
        if not osp.isfile(mtl):
            warnings.warn(f'{display_path(path)}: material file '
                          f'{display_path(mtl)!r} not found; no texture')
            continue
        try:
            text = read_text(mtl, 'material file')
        except MeshReadError as err:
            warnings.warn(f'{display_path(path)}: {err}; no texture')
            continue
        current = None
        for line in text.splitlines():
            parts = line.split('#', 1)[0].split()
            if not parts:
                continue
            if parts[0] == 'newmtl':
                current = ' '.join(parts[1:])
            elif parts[0] == 'map_Kd' and current is not None:
                args, k = parts[1:], 0
                while k < len(args) and args[k] in _MAP_OPTIONS:
                    k += 1 + _MAP_OPTIONS[args[k]]
                if k < len(args):
                    out[current] = osp.join(osp.dirname(mtl),
                                            ' '.join(args[k:]))
    return out


def read_obj(path, load_texture: bool = True) -> Mesh:
    """Read a Wavefront OBJ face scan.

    Args:
        path (str | bytes | os.PathLike): The ``.obj`` file (gzipped too).
        load_texture (bool): Read the ``map_Kd`` image of the material the
            faces use. A missing image or ``.mtl`` only warns. Defaults to
            True.

    Returns:
        Mesh: Vertices in the file's unit, polygons fan-triangulated,
        ``face_uvs`` when every corner has a ``vt``, ``texture`` when the
        textured faces share one image, ``vertex_colors`` from
        ``v x y z r g b``. ``metainfo`` holds ``'path'`` and, when known,
        ``'texture_path'``.

    Raises:
        MeshReadError: If the file is missing, empty, binary, over a
            :class:`~.limits.ReadLimits` bound, has no vertex or face, a
            ``v`` / ``vt`` line with a wrong number of values, a bad
            number, a face of fewer than 3 corners, a malformed corner or an
            index 0 or out of range (all with the line).
    """
    path = as_path(path)
    lines = read_lines(path, 'OBJ')
    kw = lines.keywords()
    v_rows = np.flatnonzero(kw == b'v')
    f_rows = np.flatnonzero(kw == b'f')
    if not len(v_rows) or not len(f_rows):
        raise MeshReadError(path, f'{len(v_rows)} vertices and '
                            f'{len(f_rows)} faces: not a face mesh')
    limits = get_read_limits()
    if len(v_rows) > limits.max_vertices:
        raise MeshReadError(path, f'over {limits.max_vertices} vertices '
                            '(ReadLimits.max_vertices)')
    values, offsets, counts = _vertex_values(lines, v_rows, (3, 4, 6), 'v')
    vertices = values[offsets[:, None] + np.arange(3)]
    vertex_colors = None
    if (counts == 6).all():
        vertex_colors = colors_to_uint8(
            values[offsets[:, None] + np.arange(3, 6)])

    vertex, texcoord, sizes = _corners(lines, f_rows, kw)
    corners = fan(path, np.cumsum(sizes) - sizes, sizes)
    if len(corners) > limits.max_faces:
        raise MeshReadError(path, f'over {limits.max_faces} triangles '
                            '(ReadLimits.max_faces)')
    faces = vertex[corners]

    face_uvs = None
    vt_rows = np.flatnonzero(kw == b'vt')
    if (texcoord >= 0).all() and len(vt_rows):
        uv_values, uv_off, uv_count = _vertex_values(lines, vt_rows,
                                                     (1, 2, 3), 'vt')
        uv = np.stack([uv_values[uv_off],
                       np.where(uv_count >= 2,
                                uv_values[np.minimum(uv_off + 1,
                                                     len(uv_values) - 1)],
                                0.0)], axis=1)
        face_uvs = uv[texcoord[corners]]
    elif (texcoord >= 0).any():
        warnings.warn(f'{display_path(path)}: only some face corners have '
                      'texture coordinates; texture dropped')

    image = _face_image(path, lines, kw, f_rows, sizes, face_uvs is not None)
    texture, texture_path = _load_texture(
        path, [image] if image else [], load_texture)
    return make_mesh(path, dict(path=path), texture_path, vertices=vertices,
                     faces=faces, face_uvs=face_uvs, texture=texture,
                     vertex_colors=vertex_colors)


def _face_image(path: str, lines: TextLines, kw: np.ndarray,
                f_rows: np.ndarray, sizes: np.ndarray,
                has_uv: bool) -> Optional[str]:
    """The one image the faces' materials name (None, warning when they
    name several or only some faces have one)."""
    known = np.isin(kw, [b'v', b'vt', b'vn', b'f', b''])
    other = np.flatnonzero(~known)
    limit = get_read_limits().max_tokens
    if len(other) > limit:
        raise MeshReadError(path, f'over {limit} statements other than v, '
                            'vt, vn, f (ReadLimits.max_tokens)')
    mtllibs, use_rows, use_names = [], [], []
    for row in other:
        parts = lines.line_text(row).split(None, 1)
        if parts[0] == 'mtllib' and len(parts) > 1:
            mtllibs += parts[1].split()
        elif parts[0] == 'usemtl':
            use_rows.append(row)
            use_names.append(parts[1].strip() if len(parts) > 1 else '')
    if not mtllibs or not use_rows or not has_uv:
        return None
    materials = _materials(path, mtllibs)
    # The material of each face: the last usemtl above it.
    which = np.searchsorted(np.asarray(use_rows), f_rows) - 1
    used = {use_names[k] if k >= 0 else None for k in np.unique(which)}
    images = {materials.get(name) for name in used}
    if len(images) == 1:
        return images.pop()
    named = sorted(osp.basename(i) for i in images if i)
    warnings.warn(f'{display_path(path)}: faces use {len(images)} textures '
                  f'({", ".join(named)}, or none); a mesh holds one image: '
                  'texture dropped')
    return None
