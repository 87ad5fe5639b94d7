# Copyright (c) mmfer4d contributors. All rights reserved.
"""Object File Format (OFF) reader.

Follows the Geomview OFF description (``OFF(5)``)::

    [ST][C][N]OFF                 header keyword
    NVertices NFaces NEdges       (NEdges is not used; may be absent)
    x y z [nx ny nz] [r g b [a]] [s t]          NVertices lines
    n v1 v2 ... vn [colour]                     NFaces lines

``#`` starts a comment. The counts are checked against the lines that
follow: a header claiming more vertices or faces than the file holds, a
vertex line with a wrong number of values, a face whose corner count does
not match its indices, an index out of range and lines past the last face
are errors with their line, never a partial mesh. ``4OFF``, ``nOFF`` and
``OFF BINARY`` are not read.
"""
import re

import numpy as np

from mmfer4d.structures import Mesh
from ._lines import TextLines, read_lines
from ._mesh import colors_to_uint8, make_mesh
from ._polygons import fan
from ._source import as_path
from .limits import get_read_limits

_HEADER = re.compile(r'(ST)?(C)?(N)?(4)?(n)?OFF')


def read_off(path) -> Mesh:
    """Read an OFF mesh.

    Args:
        path (str | bytes | os.PathLike): The ``.off`` file (gzipped too).

    Returns:
        Mesh: Vertices, polygons fan-triangulated, ``vertex_colors`` for
        ``COFF``. ``metainfo`` holds ``'path'``.

    Raises:
        MeshReadError: If the file is missing, empty, binary, over a
            :class:`~.limits.ReadLimits` bound, has no ``OFF`` header or
            counts line, holds other numbers of vertices or faces than the
            counts say, or a line is malformed (with its line).
    """
    path = as_path(path)
    lines = read_lines(path, 'OFF')
    rows = np.flatnonzero(lines.line_ntok > 0)
    head = lines.token(lines.line_tok0[rows[0]])
    match = _HEADER.fullmatch(head)
    if match is None:
        raise lines.error(f'not an OFF file: header {head[:20]!r}, expected '
                          "'OFF' (or COFF, NOFF, STOFF...)", rows[0])
    st, color, normal, four, ndim = match.groups()
    if four or ndim or lines.line_ntok[rows[0]] > 1 and \
            lines.token(lines.line_tok0[rows[0]] + 1) == 'BINARY':
        raise lines.error(f'{head} files (4-D, n-D or binary) are not read',
                          rows[0])
    # The counts follow the keyword, on its line or the next one.
    tokens = np.flatnonzero(lines.token_line >= rows[0])[1:]
    if len(tokens) < 2:
        raise lines.error('no "NVertices NFaces NEdges" line', rows[0])
    count_line = lines.token_line[tokens[0]]
    count_tokens = tokens[lines.token_line[tokens] == count_line][:3]
    if len(count_tokens) < 2:
        raise lines.error('the counts line needs NVertices and NFaces',
                          count_line)
    counts = lines.numbers(count_tokens, np.int64, 'the counts line')
    num_v, num_f = int(counts[0]), int(counts[1])
    limits = get_read_limits()
    if num_v < 1 or num_f < 1:
        raise lines.error(f'{num_v} vertices and {num_f} faces: empty mesh',
                          count_line)
    if num_v > limits.max_vertices or num_f > limits.max_faces:
        raise lines.error('counts over ReadLimits.max_vertices / max_faces',
                          count_line)
    body = rows[rows > count_line]
    if len(body) < num_v + num_f:
        raise lines.error(
            f'the header declares {num_v} vertices and {num_f} faces but '
            f'only {len(body)} lines follow (truncated file, or counts that '
            'lie)', count_line)
    if len(body) > num_v + num_f:
        raise lines.error(
            f'{len(body) - num_v - num_f} lines after the last of the '
            f'{num_f} faces the header declares (counts that lie?)',
            body[num_v + num_f])
    v_rows, f_rows = body[:num_v], body[num_v:]

    width = 3 + 3 * bool(normal) + 2 * bool(st)
    allowed = (width + 3, width + 4) if color else (width, )
    ntok = lines.line_ntok[v_rows]
    bad = np.flatnonzero(~np.isin(ntok, allowed))
    if bad.size:
        k = int(bad[0])
        raise lines.error(
            f'vertex line with {int(ntok[k])} values, {head} needs '
            f'{" or ".join(map(str, allowed))} (counts that lie?)', v_rows[k])
    values = lines.numbers(_row_tokens(lines, v_rows), np.float64, 'vertex')
    offsets = np.cumsum(ntok) - ntok
    vertices = values[offsets[:, None] + np.arange(3)]
    vertex_colors = None
    if color:
        start = 3 + 3 * bool(normal)
        vertex_colors = colors_to_uint8(
            values[offsets[:, None] + start + np.arange(3)])
    faces = _faces(lines, f_rows, num_v)
    return make_mesh(path, dict(path=path), vertices=vertices, faces=faces,
                     vertex_colors=vertex_colors)


def _row_tokens(lines: TextLines, rows: np.ndarray) -> np.ndarray:
    count = lines.line_ntok[rows]
    first = lines.line_tok0[rows]
    return np.repeat(first - (np.cumsum(count) - count), count) + \
        np.arange(int(count.sum()))


def _faces(lines: TextLines, rows: np.ndarray, num_v: int) -> np.ndarray:
    """Fan triangles of the face lines ``n v1 .. vn [colour]``."""
    ntok = lines.line_ntok[rows]
    values = lines.numbers(_row_tokens(lines, rows), np.float64, 'face')
    offsets = np.cumsum(ntok) - ntok
    sizes = values[offsets]
    extra = ntok - 1 - sizes
    bad = np.flatnonzero((sizes != np.round(sizes)) | (sizes < 3) |
                         ~np.isin(extra, (0, 1, 3, 4)))
    if bad.size:
        k = int(bad[0])
        raise lines.error(
            f'face line {lines.line_text(rows[k])[:40]!r}: expected '
            '"n v1 .. vn [colour]" with n >= 3', rows[k])
    sizes = sizes.astype(np.int64)
    starts = np.cumsum(sizes) - sizes
    pick = np.repeat(offsets + 1 - starts, sizes) + np.arange(
        int(sizes.sum()))
    index = values[pick]
    corner_row = np.repeat(rows, sizes)
    bad = np.flatnonzero((index != np.round(index)) | (index < 0) |
                         (index >= num_v))
    if bad.size:
        k = int(bad[0])
        raise lines.error(f'face index {index[k]:g} out of range '
                          f'[0, {num_v})', corner_row[k])
    return index.astype(np.int64)[fan(lines.path, starts, sizes)]
