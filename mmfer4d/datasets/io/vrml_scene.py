# Copyright (c) mmfer4d contributors. All rights reserved.
"""The VRML97 scene graph to one triangle mesh: grouping, DEF / USE,
``Transform`` composition, ``IndexedFaceSet`` geometry.

Grouping (ISO/IEC 14772-1 clause 6): ``Group``, ``Transform``, ``Anchor``,
``Collision``, ``Billboard`` are traversed through ``children``; ``Switch``
through ``choice[whichChoice]`` (nothing when ``whichChoice`` is -1, its
default, or out of range); ``LOD`` through its first ``level`` only (the
most detailed one; X3D's ``children`` too). ``Billboard`` turns towards the
viewer at run time, so here it adds no rotation; ``Collision``'s ``proxy``
is not drawn and not read. Other nodes (``Viewpoint``, ``WorldInfo``,
``Inline``, ``PROTO`` instances...) are not traversed.

``Transform`` (clause 6.52) maps a point of its children to
``P' = T . C . R . SR . S . -SR . -C . P`` with ``T`` the ``translation``,
``C`` the ``center``, ``R`` the ``rotation`` (axis x y z, angle in
radians), ``SR`` the ``scaleOrientation`` and ``S`` the ``scale``;
nested transforms compose parent first.
"""
from typing import Dict, List, Optional, Tuple

import numpy as np

from ._polygons import fan
from ._text import parse_numbers, token_line
from .errors import MeshReadError
from .vrml_parser import Ident, Node, NumberSpan, VRMLParser

GROUPS = frozenset(('Group', 'Transform', 'Anchor', 'Collision',
                    'Billboard'))
_TRANSFORM_FIELDS = ('translation', 'rotation', 'scale', 'scaleOrientation',
                     'center')
#: The fields the readers look at, per node type; all others are skipped.
KEEP = {
    'Transform': frozenset(('children', ) + _TRANSFORM_FIELDS),
    'Group': frozenset(('children', )),
    'Anchor': frozenset(('children', )),
    'Collision': frozenset(('children', )),
    'Billboard': frozenset(('children', )),
    'Switch': frozenset(('choice', 'whichChoice', 'children')),
    'LOD': frozenset(('level', 'children')),
    'Shape': frozenset(('appearance', 'geometry')),
    'Appearance': frozenset(('texture', )),
    'ImageTexture': frozenset(('url', )),
    'IndexedFaceSet': frozenset(('coord', 'coordIndex', 'texCoord',
                                 'texCoordIndex', 'ccw', 'color',
                                 'colorIndex', 'colorPerVertex')),
    'Coordinate': frozenset(('point', )),
    'TextureCoordinate': frozenset(('point', )),
    'Color': frozenset(('color', )),
}


class Part:
    """One ``Shape`` instance: its face set under one transform."""

    def __init__(self, shape: Node, face_set: Node, matrix: np.ndarray):
        self.shape, self.face_set, self.matrix = shape, face_set, matrix


class Scene:
    """A parsed ``.wrl`` text and the shapes its scene graph draws.

    Args:
        path (str): The file, for messages.
        text (str): Its text.
        max_tokens (int): Bound on tokens and on node visits.
        max_depth (int): Bound on nesting.
        max_shapes (int): Bound on drawn ``Shape`` instances.

    Attributes:
        parts (list[Part]): Every ``Shape`` with an ``IndexedFaceSet``
            reached from the roots, in scene order, with its world matrix.
        ignored (set[str]): Geometry node types met in shapes and not read
            (``IndexedLineSet``, ``Box``...).
        roots (list[Node]): The top-level nodes.
    """

    def __init__(self, path: str, text: str, max_tokens: int,
                 max_depth: int, max_shapes: int):
        self.path, self.text = path, text
        self._max_shapes = max_shapes
        parser = VRMLParser(path, text, KEEP, max_tokens, max_depth)
        self.roots = parser.parse()
        self.parts: List[Part] = []
        self.ignored = set()
        self._visits, self._max_visits = 0, max_tokens
        self._max_depth = max_depth
        for root in self.roots:
            self._walk(root, np.eye(4), 0)

    def error(self, reason: str, node: Optional[Node] = None,
              pos: Optional[int] = None) -> MeshReadError:
        if node is not None:
            pos = node.pos
        line = None if pos is None else self.text.count('\n', 0, pos) + 1
        return MeshReadError(self.path, reason, line=line)

    # Scene graph ----------------------------------------------------------
    def _walk(self, node, matrix: np.ndarray, depth: int):
        if not isinstance(node, Node):
            return
        self._visits += 1
        if self._visits > self._max_visits:
            raise self.error(
                f'the scene graph has more than {self._max_visits} node '
                'instances (USE of USE...; ReadLimits.max_tokens)')
        if depth > self._max_depth:
            raise self.error(
                f'the scene graph is deeper than {self._max_depth} '
                '(through USE; ReadLimits.max_depth)', node)
        kind = node.type
        if kind == 'Transform':
            matrix = matrix @ self.transform_matrix(node)
        if kind in GROUPS:
            children = self.nodes(node, 'children')
        elif kind == 'Switch':
            choice = self.nodes(node, 'choice') or self.nodes(
                node, 'children')
            which = self.integer(node, 'whichChoice', -1)
            children = [choice[which]] if 0 <= which < len(choice) else []
        elif kind == 'LOD':
            levels = self.nodes(node, 'level') or self.nodes(
                node, 'children')
            children = levels[:1]
        elif kind == 'Shape':
            geometry = node.fields.get('geometry')
            if isinstance(geometry, Node):
                if geometry.type == 'IndexedFaceSet':
                    if len(self.parts) >= self._max_shapes:
                        raise self.error(
                            f'the scene draws more than {self._max_shapes} '
                            'shapes (ReadLimits.max_shapes; USE of USE...)',
                            node)
                    self.parts.append(Part(node, geometry, matrix))
                else:
                    self.ignored.add(geometry.type)
            children = []
        else:
            children = []
        for child in children:
            self._walk(child, matrix, depth + 1)

    def nodes(self, node: Node, field: str) -> list:
        """An ``MFNode`` field as a list (a single node or ``NULL`` too).

        Raises:
            MeshReadError: If the field holds numbers, strings or names.
        """
        value = node.fields.get(field, [])
        if value is None or isinstance(value, Node):
            return [value] if value is not None else []
        if isinstance(value, list) and all(
                v is None or isinstance(v, Node) for v in value):
            return [v for v in value if v is not None]
        raise self.error(f'{node.type}.{field} must hold nodes', node)

    # Field values ---------------------------------------------------------
    def numbers(self, node: Node, field: str, dtype,
                default=None) -> Optional[np.ndarray]:
        """A number field (SF or MF) as a flat array; ``default`` if absent.

        Raises:
            MeshReadError: If the value is not numbers or a number is bad.
        """
        value = node.fields.get(field)
        if value is None:
            return default
        if isinstance(value, list) and not value:
            return np.zeros(0, dtype)
        if not isinstance(value, NumberSpan):
            raise self.error(f'{node.type}.{field} must hold numbers, got '
                             f'{_kind(value)}', node)
        return parse_numbers(self.path, self.text, value.start, value.end,
                             dtype, f'{node.type}.{field}')

    def vector(self, node: Node, field: str, size: int,
               default: Tuple[float, ...]) -> np.ndarray:
        """An ``SFVec3f`` / ``SFRotation`` field of ``size`` finite
        numbers."""
        values = self.numbers(node, field, np.float64)
        if values is None:
            return np.asarray(default, np.float64)
        if values.size != size or not np.isfinite(values).all():
            raise self.error(f'{node.type}.{field} must be {size} finite '
                             f'numbers, got {values.size}', node)
        return values

    def integer(self, node: Node, field: str, default: int) -> int:
        values = self.numbers(node, field, np.int64)
        if values is None:
            return default
        if values.size != 1:
            raise self.error(f'{node.type}.{field} must be one integer', node)
        return int(values[0])

    def boolean(self, node: Node, field: str, default: bool) -> bool:
        value = node.fields.get(field, default)
        if not isinstance(value, bool):
            raise self.error(f'{node.type}.{field} must be TRUE or FALSE, '
                             f'got {_kind(value)}', node)
        return value

    def child(self, node: Optional[Node], field: str,
              kind: str) -> Optional[Node]:
        """An ``SFNode`` field holding a node of type ``kind`` (or None)."""
        if node is None:
            return None
        value = node.fields.get(field)
        if value is None:
            return None
        if not isinstance(value, Node):
            raise self.error(f'{node.type}.{field} must be a node, got '
                             f'{_kind(value)}', node)
        return value if value.type == kind else None

    def strings(self, node: Node, field: str) -> List[str]:
        value = node.fields.get(field, [])
        values = value if isinstance(value, list) else [value]
        return [v for v in values
                if isinstance(v, str) and not isinstance(v, Ident)]

    # Transform ------------------------------------------------------------
    def transform_matrix(self, node: Node) -> np.ndarray:
        """The 4x4 matrix of a ``Transform``: T . C . R . SR . S . -SR . -C.

        Raises:
            MeshReadError: If a field is malformed or a rotation axis is
                zero with a non-zero angle.
        """
        t = self.vector(node, 'translation', 3, (0, 0, 0))
        c = self.vector(node, 'center', 3, (0, 0, 0))
        s = self.vector(node, 'scale', 3, (1, 1, 1))
        r = _rotation(self, node, 'rotation')
        sr = _rotation(self, node, 'scaleOrientation')
        linear = r @ sr @ np.diag(s) @ sr.T
        matrix = np.eye(4)
        matrix[:3, :3] = linear
        matrix[:3, 3] = t + c - linear @ c
        return matrix


def _rotation(scene: Scene, node: Node, field: str) -> np.ndarray:
    """Rodrigues' formula for an ``SFRotation`` (axis, angle in rad)."""
    x, y, z, angle = scene.vector(node, field, 4, (0, 0, 1, 0))
    norm = np.sqrt(x * x + y * y + z * z)
    if angle == 0:
        return np.eye(3)
    if norm == 0:
        raise scene.error(f'{node.type}.{field} has a zero axis', node)
    k = np.array([[0, -z, y], [z, 0, -x], [-y, x, 0]]) / norm
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * (k @ k)


def _kind(value) -> str:
    if isinstance(value, Node):
        return f'a {value.type} node'
    if isinstance(value, NumberSpan):
        return 'numbers'
    if isinstance(value, Ident):
        return f'the name {str(value)[:20]!r}'
    if isinstance(value, str):
        return 'a string'
    return type(value).__name__


def polygons(scene: Scene, node: Node, field: str,
             bound: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split an index list at ``-1`` and check every index.

    Returns:
        tuple: ``(idx, starts, sizes)``: the list ending in ``-1``, the
        position of each polygon's first corner and its corner count.

    Raises:
        MeshReadError: If an index is below -1 or not below ``bound``.
    """
    idx = scene.numbers(node, field, np.int64, np.zeros(0, np.int64))
    bad = np.flatnonzero((idx < -1) | (idx >= bound))
    if bad.size:
        k = int(bad[0])
        span = node.fields[field]
        raise MeshReadError(
            scene.path,
            f'{field} index {int(idx[k])} out of range [0, {bound})',
            line=token_line(scene.text, span.start, span.end, k))
    if idx.size and idx[-1] != -1:  # the last polygon may lack its -1
        idx = np.append(idx, -1)
    ends = np.flatnonzero(idx == -1)
    starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64)
    return idx, starts, ends - starts


def face_set_arrays(scene: Scene, ifs: Node) -> Dict[str, np.ndarray]:
    """Vertices, triangles and per-corner UVs of one ``IndexedFaceSet``.

    Returns:
        dict: ``'vertices'`` ``(N, 3)`` float64, ``'faces'`` ``(T, 3)``
        int64, ``'face_uvs'`` ``(T, 3, 2)`` float64 or None,
        ``'vertex_colors'`` ``(N, 3)`` uint8 or None, ``'empty'`` (why it
        has no triangle, or None).

    Raises:
        MeshReadError: If a list is malformed, a number is NaN or Inf, an
            index is out of range, or ``texCoordIndex`` does not match
            ``coordIndex`` polygon by polygon.
    """
    coord = scene.child(ifs, 'coord', 'Coordinate')
    if coord is None:
        raise scene.error('IndexedFaceSet has no coord Coordinate node',
                          ifs)
    points = scene.numbers(coord, 'point', np.float64, np.zeros(0))
    vertices = _points(scene, coord, points, 3, 'Coordinate point')
    idx, starts, sizes = polygons(scene, ifs, 'coordIndex', len(vertices))
    corners = fan(scene.path, starts, sizes)
    out = dict(vertices=vertices, faces=idx[corners], face_uvs=None,
               vertex_colors=None, empty=None)
    if not len(vertices):
        out['empty'] = 'Coordinate point is empty'
    elif not idx.size:
        out['empty'] = 'coordIndex is empty'
    elif not len(corners):
        out['empty'] = 'coordIndex holds no polygon of 3 or more corners'

    tex = scene.child(ifs, 'texCoord', 'TextureCoordinate')
    if tex is not None:
        uv = _points(scene, tex, scene.numbers(tex, 'point', np.float64,
                                               np.zeros(0)),
                     2, 'TextureCoordinate point')
        if _non_empty(ifs, 'texCoordIndex'):
            tidx, _, tsizes = polygons(scene, ifs, 'texCoordIndex', len(uv))
            if not np.array_equal(tsizes, sizes):
                raise scene.error(
                    f'texCoordIndex ({len(tsizes)} polygons) does not match '
                    f'coordIndex ({len(sizes)} polygons) corner by corner',
                    ifs)
        else:  # clause 6.23: absent or empty, coordIndex serves
            bad = idx[idx >= len(uv)]
            if bad.size:
                raise scene.error(
                    f'no texCoordIndex and only {len(uv)} texture '
                    f'coordinates for coordIndex index {int(bad[0])}', tex)
            tidx = idx
        out['face_uvs'] = uv[tidx[corners]]

    color = scene.child(ifs, 'color', 'Color')
    if color is not None and scene.boolean(ifs, 'colorPerVertex', True) \
            and not _non_empty(ifs, 'colorIndex'):
        colors = scene.numbers(color, 'color', np.float64, np.zeros(0))
        if colors.size == vertices.size and np.isfinite(colors).all():
            out['vertex_colors'] = np.round(
                np.clip(colors.reshape(-1, 3), 0, 1) * 255).astype(np.uint8)

    if not scene.boolean(ifs, 'ccw', True):
        out['faces'] = out['faces'][:, ::-1]
        if out['face_uvs'] is not None:
            out['face_uvs'] = out['face_uvs'][:, ::-1]
    return out


def _non_empty(node: Node, field: str) -> bool:
    value = node.fields.get(field)
    return value is not None and not (isinstance(value, list) and not value)


def _points(scene: Scene, node: Node, values: np.ndarray, dim: int,
            what: str) -> np.ndarray:
    if values.size % dim:
        raise scene.error(
            f'{what} holds {values.size} numbers, not a multiple of {dim} '
            '(truncated, or a number missing)', node)
    finite = np.isfinite(values)
    if not finite.all():
        k = int(np.flatnonzero(~finite)[0])
        span = node.fields['point']
        raise MeshReadError(
            scene.path, f'non-finite value {values[k]} in {what}',
            line=token_line(scene.text, span.start, span.end, k))
    return values.reshape(-1, dim)
