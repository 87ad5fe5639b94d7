# Copyright (c) mmfer4d contributors. All rights reserved.
"""Polygon File Format (PLY) reader, ASCII and binary.

Follows Greg Turk's PLY description ("The PLY Polygon File Format")::

    ply
    format ascii 1.0 | binary_little_endian 1.0 | binary_big_endian 1.0
    comment ...                       (MeshLab: "comment TextureFile a.png")
    element vertex N
    property float x                  (y, z; red green blue [alpha];
    ...                                s t / u v / texture_u texture_v)
    element face M
    property list uchar int vertex_indices   (or vertex_index; texcoord)
    end_header
    <N vertex records, M face records, other elements>

Every count is checked against the data: in ASCII one record per line, its
value count matching the properties (a header claiming more vertices than
present meets a face line and fails there); in binary the exact byte size.
A truncated file, a lying count, trailing data, an index out of range and a
face of fewer than 3 corners are errors, never a partial mesh.
"""
import os.path as osp
import struct
from typing import Dict, List, Tuple

import numpy as np

from mmfer4d.structures import Mesh
from ._image import load_texture as _load_texture
from ._lines import TextLines, normalise
from ._mesh import colors_to_uint8, make_mesh
from ._polygons import fan
from ._source import as_path, read_bytes
from .errors import MeshReadError
from .limits import get_read_limits

_TYPES = {
    'char': 'i1', 'int8': 'i1', 'uchar': 'u1', 'uint8': 'u1',
    'short': 'i2', 'int16': 'i2', 'ushort': 'u2', 'uint16': 'u2',
    'int': 'i4', 'int32': 'i4', 'uint': 'u4', 'uint32': 'u4',
    'float': 'f4', 'float32': 'f4', 'double': 'f8', 'float64': 'f8'
}
_UV_NAMES = (('s', 't'), ('u', 'v'), ('texture_u', 'texture_v'))


def _code(numpy_type: str) -> str:
    """The :mod:`struct` code of a NumPy type string (``'u1'`` -> ``'B'``).
    """
    return np.dtype(numpy_type).char


class _Element:

    def __init__(self, name: str, count: int, line: int):
        self.name, self.count, self.line = name, count, line
        # (name, type, count type or None for a scalar)
        self.props: List[Tuple[str, str, str]] = []


def _header(path: str, raw: bytes):
    """``(format, elements, comments, body offset, header lines)``."""
    end = raw.find(b'end_header')
    if not raw.startswith(b'ply') or end < 0:
        raise MeshReadError(path, 'not a PLY file: no "ply" ... '
                            '"end_header" header', line=1)
    stop = raw.find(b'\n', end)
    if stop < 0 or raw[end + 10:stop].strip():
        raise MeshReadError(path, 'end_header must end its line')
    text = raw[:stop].decode('latin-1').replace('\r', '')
    fmt, elements, comments = None, [], []
    for number, line in enumerate(text.split('\n'), 1):
        parts = line.split()
        if not parts or parts[0] in ('ply', 'obj_info', 'end_header'):
            continue
        if parts[0] == 'comment':
            comments.append(line.split(None, 1)[1:] or [''])
        elif parts[0] == 'format' and len(parts) == 3:
            fmt = parts[1]
        elif parts[0] == 'element' and len(parts) == 3 and \
                parts[2].isdigit():
            elements.append(_Element(parts[1], int(parts[2]), number))
        elif parts[0] == 'property' and elements and len(parts) == 3 and \
                parts[1] in _TYPES:
            elements[-1].props.append((parts[2], _TYPES[parts[1]], None))
        elif parts[0] == 'property' and elements and len(parts) == 5 and \
                parts[1] == 'list' and parts[2] in _TYPES and \
                parts[3] in _TYPES and _TYPES[parts[2]][0] in 'iu':
            elements[-1].props.append(
                (parts[4], _TYPES[parts[3]], _TYPES[parts[2]]))
        else:
            raise MeshReadError(path, f'bad PLY header line {line[:40]!r}',
                                line=number)
    if fmt not in ('ascii', 'binary_little_endian', 'binary_big_endian'):
        raise MeshReadError(path, f'unknown PLY format {fmt!r}')
    names = [e.name for e in elements]
    for element in elements:
        props = [p[0] for p in element.props]
        twice = {n for n in props if props.count(n) > 1 or n.endswith('#n')}
        if names.count(element.name) > 1 or twice:
            raise MeshReadError(
                path, f'element {element.name} or its properties '
                f'{sorted(twice)} declared twice', line=element.line)
    comments = [c[0] for c in comments]
    return fmt, elements, comments, stop + 1, text.count('\n') + 1


def read_ply(path, load_texture: bool = True) -> Mesh:
    """Read a PLY mesh (ASCII or binary).

    Args:
        path (str | bytes | os.PathLike): The ``.ply`` file (gzipped too).
        load_texture (bool): Read the image of a ``comment TextureFile``
            line when the mesh has texture coordinates. Defaults to True.

    Returns:
        Mesh: Vertices, polygons fan-triangulated, ``face_uvs`` from
        per-vertex ``s t`` (``u v``...) or per-face ``texcoord``,
        ``vertex_colors`` from ``red green blue``. ``metainfo`` holds
        ``'path'`` and, when known, ``'texture_path'``.

    Raises:
        MeshReadError: If the file is missing, empty, over a
            :class:`~.limits.ReadLimits` bound, its header is malformed,
            lacks ``x y z`` or faces, or the data does not match the header
            (truncated, counts that lie, trailing data, bad numbers, an
            index out of range, a face of fewer than 3 corners).
    """
    path = as_path(path)
    raw = read_bytes(path, 'PLY file')
    if not raw.strip():
        raise MeshReadError(path, 'empty file')
    fmt, elements, comments, offset, header_lines = _header(path, raw)
    by_name = {e.name: e for e in elements}
    vertex, face = by_name.get('vertex'), by_name.get('face')
    if vertex is None or face is None or not vertex.count or \
            not face.count:
        raise MeshReadError(path, 'the header declares no vertex or no face')
    limits = get_read_limits()
    if vertex.count > limits.max_vertices or face.count > limits.max_faces:
        raise MeshReadError(path, f'the header declares {vertex.count} '
                            f'vertices, {face.count} faces: over '
                            'ReadLimits.max_vertices / max_faces')
    if fmt == 'ascii':
        data = _read_ascii(path, raw[offset:], elements, header_lines)
    else:
        data = _read_binary(path, raw, offset, elements,
                            '<' if fmt.endswith('little_endian') else '>')
    return _mesh(path, data, comments, load_texture)


def _read_ascii(path, body: bytes, elements, header_lines) -> Dict:
    lines = TextLines(path, normalise(body, comments=False), header_lines)
    rows = np.flatnonzero(lines.line_ntok > 0)
    out, at = {}, 0
    for element in elements:
        if at + element.count > len(rows):
            raise MeshReadError(
                path, f'element {element.name}: the header declares '
                f'{element.count} records, the file holds '
                f'{max(len(rows) - at, 0)} (truncated, or a count that '
                'lies)', line=element.line)
        mine = rows[at:at + element.count]
        at += element.count
        ntok = lines.line_ntok[mine]
        first = lines.line_tok0[mine]
        tokens = np.repeat(first - (np.cumsum(ntok) - ntok), ntok) + \
            np.arange(int(ntok.sum()))
        values = lines.numbers(tokens, np.float64, f'element {element.name}')
        cursor = np.cumsum(ntok) - ntok
        record = {}
        for name, _, list_type in element.props:
            cursor = _take(lines, mine, element, values, cursor, ntok,
                           record, name, list_type is not None)
        bad = np.flatnonzero(cursor != np.cumsum(ntok))
        if bad.size:
            raise lines.error(
                f'element {element.name} record with {int(ntok[bad[0]])} '
                'values, not what its properties declare (a count that '
                'lies?)', mine[bad[0]])
        out[element.name] = record
    if at < len(rows):
        raise lines.error(f'{len(rows) - at} lines after the last record '
                          'the header declares (counts that lie?)', rows[at])
    return out


def _take(lines, rows, element, values, cursor, ntok, record, name,
          is_list):
    """One property of every record (vectorised); the moved cursor."""
    end = np.cumsum(ntok)
    short = np.flatnonzero(cursor >= end)
    if short.size:
        raise lines.error(f'element {element.name} record too short for '
                          f'property {name} (a count that lies?)',
                          rows[short[0]])
    if not is_list:
        record[name] = values[cursor]
        return cursor + 1
    size = values[cursor]
    bad = np.flatnonzero((size != np.round(size)) | (size < 0) |
                         (cursor + 1 + size > end))
    if bad.size:
        raise lines.error(f'element {element.name}: bad list length for '
                          f'{name}', rows[bad[0]])
    size = size.astype(np.int64)
    starts = np.cumsum(size) - size
    record[name] = (values[np.repeat(cursor + 1 - starts, size) +
                           np.arange(int(size.sum()))], size)
    return cursor + 1 + size


def _read_binary(path, raw: bytes, offset: int, elements, order) -> Dict:
    out = {}
    for element in elements:
        scalars = all(list_type is None for _, _, list_type in element.props)
        if scalars:
            dtype = np.dtype([(n, order + t) for n, t, _ in element.props])
            size = dtype.itemsize * element.count
            if offset + size > len(raw):
                raise MeshReadError(
                    path, f'element {element.name}: {element.count} records '
                    f'need {size} bytes, {len(raw) - offset} remain '
                    '(truncated, or a count that lies)', offset=len(raw))
            array = np.frombuffer(raw, dtype, element.count, offset)
            out[element.name] = {n: array[n].astype(np.float64)
                                 for n in dtype.names}
            offset += size
        else:
            out[element.name], offset = _binary_lists(path, raw, offset,
                                                      element, order)
    if offset != len(raw) and raw[offset:].strip(b'\x00\n\r\t '):
        raise MeshReadError(path, f'{len(raw) - offset} bytes after the last '
                            'record the header declares (counts that lie?)',
                            offset=offset)
    return out


def _binary_lists(path, raw, offset, element, order):
    """Records with list properties: one NumPy view when every list has
    the length of the first record's, else record by record."""
    lengths, pos = [], offset
    for name, item, list_type in element.props:  # the first record
        if pos + np.dtype(list_type or item).itemsize > len(raw):
            break
        if list_type is None:
            pos += np.dtype(item).itemsize
            continue
        (n, ) = struct.unpack_from(order + _code(list_type), raw, pos)
        lengths.append(n)
        pos += np.dtype(list_type).itemsize + n * np.dtype(item).itemsize
    fields, k = [], 0
    for name, item, list_type in element.props:
        if list_type is None:
            fields.append((name, order + item))
        else:
            n = lengths[k] if k < len(lengths) else 0
            fields += [(name + '#n', order + list_type),
                       (name, order + item, (n, ))]
            k += 1
    dtype = np.dtype(fields)
    size = dtype.itemsize * element.count
    if len(lengths) == sum(1 for p in element.props if p[2]) and \
            offset + size <= len(raw):
        array = np.frombuffer(raw, dtype, element.count, offset)
        uniform = all((array[name + '#n'] == n).all() for (name, _, lt), n
                      in zip([p for p in element.props if p[2]], lengths))
        if uniform:
            record = {}
            for name, item, list_type in element.props:
                values = array[name].astype(np.float64)
                record[name] = values if list_type is None else (
                    values.reshape(-1), np.full(element.count,
                                                values.shape[1]))
            return record, offset + size
    return _binary_records(path, raw, offset, element, order)


def _binary_records(path, raw, offset, element, order):
    limit = get_read_limits().max_faces
    if element.count > limit:
        raise MeshReadError(path, f'element {element.name}: over {limit} '
                            'records (ReadLimits.max_faces)')
    columns = {name: [] for name, _, _ in element.props}
    sizes = {name: [] for name, _, lt in element.props if lt}
    for _ in range(element.count):
        for name, item, list_type in element.props:
            try:
                if list_type is None:
                    (value, ) = struct.unpack_from(order + _code(item), raw,
                                                   offset)
                    offset += np.dtype(item).itemsize
                    columns[name].append(value)
                    continue
                (n, ) = struct.unpack_from(order + _code(list_type), raw,
                                           offset)
                offset += np.dtype(list_type).itemsize
                values = struct.unpack_from(f'{order}{n}{_code(item)}', raw,
                                            offset)
            except struct.error:
                raise MeshReadError(
                    path, f'element {element.name}: truncated (a count that'
                    ' lies?)', offset=len(raw)) from None
            offset += n * np.dtype(item).itemsize
            columns[name].extend(values)
            sizes[name].append(n)
    record = {}
    for name, values in columns.items():
        values = np.asarray(values, np.float64)
        record[name] = (values, np.asarray(sizes[name], np.int64)) \
            if name in sizes else values
    return record, offset


def _mesh(path: str, data: Dict, comments: List[str], load_texture: bool):
    vertex, face = data['vertex'], data['face']
    # List properties of the vertex element are not read.
    vertex = {k: v for k, v in vertex.items() if isinstance(v, np.ndarray)}
    if not all(axis in vertex for axis in 'xyz'):
        raise MeshReadError(path, 'element vertex lacks scalar x, y or z')
    vertices = np.stack([vertex['x'], vertex['y'], vertex['z']], axis=1)
    index_name = next((n for n in ('vertex_indices', 'vertex_index')
                       if n in face), None)
    if index_name is None or not isinstance(face[index_name], tuple):
        raise MeshReadError(path, 'element face lacks a vertex_indices list')
    index, sizes = face[index_name]
    if (sizes < 3).any():
        k = int(np.flatnonzero(sizes < 3)[0])
        raise MeshReadError(path, f'face {k} has {int(sizes[k])} corners (a '
                            'face needs 3 or more)')
    bad = np.flatnonzero((index != np.round(index)) | (index < 0) |
                         (index >= len(vertices)))
    if bad.size:
        raise MeshReadError(path, f'face index {index[bad[0]]:g} out of range '
                            f'[0, {len(vertices)})')
    corners = fan(path, np.cumsum(sizes) - sizes, sizes)
    index = index.astype(np.int64)
    faces = index[corners]
    face_uvs = None
    uv_names = next((uv for uv in _UV_NAMES if all(n in vertex for n in uv)),
                    None)
    if uv_names is not None:
        uv = np.stack([vertex[uv_names[0]], vertex[uv_names[1]]], axis=1)
        face_uvs = uv[faces]
    elif isinstance(face.get('texcoord'), tuple):
        uv, uv_sizes = face['texcoord']
        if np.array_equal(uv_sizes, 2 * sizes):
            face_uvs = uv.reshape(-1, 2)[corners]
    vertex_colors = None
    if all(c in vertex for c in ('red', 'green', 'blue')):
        vertex_colors = colors_to_uint8(np.stack(
            [vertex['red'], vertex['green'], vertex['blue']], 1))
    names = [c.split(None, 1)[1] for c in comments
             if c.startswith('TextureFile') and len(c.split(None, 1)) > 1]
    texture, texture_path = None, None
    if face_uvs is not None and names:
        texture, texture_path = _load_texture(
            path, [osp.join(osp.dirname(path), names[0].strip())],
            load_texture)
    return make_mesh(path, dict(path=path), texture_path, vertices=vertices,
                     faces=faces, face_uvs=face_uvs, texture=texture,
                     vertex_colors=vertex_colors)
