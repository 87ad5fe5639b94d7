# Copyright (c) mmfer4d contributors. All rights reserved.
"""The one light mesh structure used everywhere downstream of the readers."""
from dataclasses import dataclass, field, replace
from typing import Optional

import numpy as np


@dataclass
class Mesh:
    """A triangle mesh of a face scan.

    All coordinates are in millimetres in the scanner's (or model's) frame,
    +y up and +z towards the viewer where the source says so.

    Args:
        vertices (np.ndarray): ``(N, 3)`` float32, vertex positions in mm.
        faces (np.ndarray): ``(F, 3)`` int32, 0-based vertex indices of each
            triangle.
        face_uvs (np.ndarray, optional): ``(F, 3, 2)`` float32, texture
            coordinates of each triangle corner in [0, 1], origin at the
            bottom-left of the texture image (VRML / OpenGL convention).
            Defaults to None.
        texture (np.ndarray, optional): ``(H, W, 3)`` uint8 RGB texture image,
            row 0 at the top. Defaults to None.
        vertex_colors (np.ndarray, optional): ``(N, 3)`` uint8 RGB per vertex.
            Defaults to None.
        landmarks (np.ndarray, optional): ``(L, 3)`` float32 landmark positions
            in mm. Defaults to None.
        metainfo (dict): Free-form metadata; readers set ``'path'`` (the
            source file) and, where known, ``'landmark_names'``.

    Raises:
        ValueError: At construction, if an array does not convert without
            loss: a finite coordinate, UV or landmark beyond float32 (it
            would become Inf), a face index that is fractional, NaN or
            beyond int32 (it would wrap round to another vertex). The
            remaining checks are :meth:`validate`'s.
    """

    vertices: np.ndarray  # (N, 3) float32, mm
    faces: np.ndarray  # (F, 3) int32, vertex indices
    face_uvs: Optional[np.ndarray] = None  # (F, 3, 2) float32, per corner
    texture: Optional[np.ndarray] = None  # (H, W, 3) uint8, RGB
    vertex_colors: Optional[np.ndarray] = None  # (N, 3) uint8, RGB
    landmarks: Optional[np.ndarray] = None  # (L, 3) float32, mm
    metainfo: dict = field(default_factory=dict)

    def __post_init__(self):
        self.vertices = _as_float32(self.vertices, 'vertices', self.path)
        self.faces = _as_index(self.faces, self.path)
        if self.face_uvs is not None:
            self.face_uvs = _as_float32(self.face_uvs, 'face_uvs', self.path)
        if self.landmarks is not None:
            self.landmarks = _as_float32(self.landmarks, 'landmarks',
                                         self.path)

    @property
    def num_vertices(self) -> int:
        return int(self.vertices.shape[0])

    @property
    def num_faces(self) -> int:
        return int(self.faces.shape[0])

    @property
    def path(self) -> Optional[str]:
        """The source file, if a reader made this mesh."""
        return self.metainfo.get('path')

    def validate(self) -> 'Mesh':
        """Check shapes, dtypes, finiteness and index ranges.

        After it passes, every face index lies in ``[0, N)`` and every
        coordinate, texture coordinate and landmark is finite in float32,
        so kernels may index and compute without further checks. Arrays
        replaced after construction (``mesh.vertices = ...``) are checked
        as they are, whatever their dtype.

        Returns:
            Mesh: ``self``, for chaining.

        Raises:
            ValueError: If any array has the wrong shape or dtype kind, a
                coordinate, UV or landmark is NaN, Inf or beyond float32, or
                a face index is out of ``[0, N)``; the message names the
                array, the first bad entry and ``self.path``.
        """
        where = f' (from {self.path})' if self.path else ''
        _check_shape(self.vertices, (None, 3), 'vertices', where)
        _check_shape(self.faces, (None, 3), 'faces', where)
        _check_finite(self.vertices, 'vertices', where)
        faces = np.asarray(self.faces)
        if not np.issubdtype(faces.dtype, np.integer):
            raise ValueError(f'faces must be integers, got {faces.dtype}'
                             f'{where}')
        if faces.size:
            low, high = faces.min(), faces.max()
            if low < 0 or high >= self.num_vertices:
                bad = int(low if low < 0 else high)
                raise ValueError(
                    f'face index {bad} out of range [0, {self.num_vertices})'
                    f'{where}')
        if self.face_uvs is not None:
            _check_shape(self.face_uvs, (self.num_faces, 3, 2), 'face_uvs',
                         where)
            _check_finite(self.face_uvs, 'face_uvs', where)
        if self.texture is not None:
            texture = np.asarray(self.texture)
            _check_shape(texture, (None, None, 3), 'texture', where)
            if texture.dtype != np.uint8:
                raise ValueError(
                    f'texture must be uint8, got {texture.dtype}{where}')
        if self.vertex_colors is not None:
            colors = np.asarray(self.vertex_colors)
            _check_shape(colors, (self.num_vertices, 3), 'vertex_colors',
                         where)
            if colors.dtype != np.uint8:
                raise ValueError(f'vertex_colors must be uint8, got '
                                 f'{colors.dtype}{where}')
        if self.landmarks is not None:
            _check_shape(self.landmarks, (None, 3), 'landmarks', where)
            _check_finite(self.landmarks, 'landmarks', where)
        return self

    def copy(self, **changes) -> 'Mesh':
        """A copy whose arrays may be changed without touching ``self``.

        ``vertices`` and ``landmarks`` are copied (transforms move them);
        the other arrays are shared, being read-only downstream. Keyword
        arguments replace fields.
        """
        out = replace(
            self,
            vertices=self.vertices.copy(),
            landmarks=None if self.landmarks is None else
            self.landmarks.copy(),
            metainfo=dict(self.metainfo))
        return replace(out, **changes) if changes else out

    def __repr__(self) -> str:
        extras = [
            name for name in ('face_uvs', 'texture', 'vertex_colors',
                              'landmarks') if getattr(self, name) is not None
        ]
        return (f'Mesh(num_vertices={self.num_vertices}, '
                f'num_faces={self.num_faces}, with={extras}, '
                f'path={self.path!r})')


_FLOAT32_MAX = float(np.finfo(np.float32).max)
_INT32 = np.iinfo(np.int32)


def _as_float32(array, name: str, path: Optional[str]) -> np.ndarray:
    """``array`` as C-contiguous float32; finite values that would become
    Inf (beyond +-3.4e38) are an error, not a NumPy warning."""
    src = np.asarray(array)
    if src.dtype == np.float32:
        return np.ascontiguousarray(src)
    if src.dtype.kind not in 'fiub':
        raise ValueError(f'{name} must be numbers, got dtype {src.dtype}'
                         + (f' (from {path})' if path else ''))
    with np.errstate(over='ignore', invalid='ignore'):
        out = np.ascontiguousarray(src, dtype=np.float32)
    if src.dtype.kind == 'f' and src.size:
        over = np.isinf(out) & np.isfinite(src)
        if over.any():
            k = np.unravel_index(int(np.flatnonzero(over)[0]), src.shape)
            raise ValueError(
                f'{name}{_at(k)} = {float(src[k])!r} overflows float32'
                + (f' (from {path})' if path else ''))
    return out


def _as_index(array, path: Optional[str]) -> np.ndarray:
    """``array`` as C-contiguous int32 vertex indices; values that do not
    convert exactly (fractions, NaN, beyond int32) are an error instead of
    wrapping round to another vertex."""
    src = np.asarray(array)
    where = f' (from {path})' if path else ''
    if src.dtype == np.int32:
        return np.ascontiguousarray(src)
    if src.size == 0:
        return np.ascontiguousarray(src, dtype=np.int32)
    if src.dtype.kind == 'f':
        if not np.isfinite(src).all() or (src != np.round(src)).any():
            raise ValueError(f'faces must be whole numbers, got {src.dtype} '
                             f'with fractions or NaN{where}')
    elif src.dtype.kind not in 'iub':
        raise ValueError(f'faces must be integers, got dtype {src.dtype}'
                         f'{where}')
    low, high = src.min(), src.max()
    if low < _INT32.min or high > _INT32.max:
        bad = low if low < _INT32.min else high
        raise ValueError(f'face index {int(bad)} does not fit int32{where}')
    return np.ascontiguousarray(src, dtype=np.int32)


def _check_shape(array, shape, name: str, where: str):
    array_shape = np.shape(array)
    if len(array_shape) != len(shape) or any(
            want is not None and got != want
            for got, want in zip(array_shape, shape)):
        want = ', '.join('N' if w is None else str(w) for w in shape)
        raise ValueError(f'{name} must be ({want}), got {array_shape}'
                         f'{where}')


def _check_finite(array, name: str, where: str):
    array = np.asarray(array)
    if array.dtype.kind not in 'fiub':
        raise ValueError(f'{name} must be numbers, got dtype {array.dtype}'
                         f'{where}')
    if array.dtype.kind != 'f':
        return
    with np.errstate(invalid='ignore'):
        bad = ~(np.abs(array) <= _FLOAT32_MAX)  # NaN, Inf, beyond float32
    if bad.any():
        k = np.unravel_index(int(np.flatnonzero(bad)[0]), array.shape)
        kind = 'NaN or Inf' if not np.isfinite(array[k]) else \
            'beyond float32'
        raise ValueError(f'{name}{_at(k)} = {float(array[k])!r} is {kind}'
                         f'{where}')


def _at(index) -> str:
    return '[' + ', '.join(str(int(i)) for i in index) + ']'
