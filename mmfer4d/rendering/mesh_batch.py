# Copyright (c) mmfer4d contributors. All rights reserved.
"""Meshes checked and laid out for the rendering backends.

The front (:class:`~mmfer4d.rendering.MultiViewRenderer`) turns each
:class:`~mmfer4d.structures.Mesh` into a :class:`RenderMesh` with
:func:`check_mesh`, so every backend receives arrays of fixed dtypes whose
values have been proven safe to index with: finite coordinates of bounded
size, face indices in range, finite texture coordinates, a non-empty uint8
texture. A :class:`MeshBatch` holds B of them; a backend that renders per
mesh (``numba``) iterates over ``batch.meshes``, a batched one (torch, on
the training device) takes one of two layouts:

- :meth:`MeshBatch.packed` (PyTorch3D's "packed"): all meshes' vertices
  and faces concatenated, faces re-indexed into the packed vertices, with
  per-mesh offsets;
- :meth:`MeshBatch.padded`: ``(B, max N, 3)`` vertices and ``(B, max F,
  3)`` faces padded with -1, with per-mesh counts.
"""
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from mmfer4d.structures.mesh import Mesh

#: Largest coordinate magnitude a backend is handed, mm (1 km): far beyond
#: any face, and small enough that products of coordinate differences
#: (normals, edge functions) stay finite in float32.
MAX_COORD_MM = 1e6

#: ``RenderMesh.color_source`` values, by code (``PackedMeshes``).
COLOR_SOURCES = ('shading', 'vertex', 'texture')


@dataclass(frozen=True)
class RenderMesh:
    """One mesh as backends take it: checked, C-contiguous, fixed dtypes.

    Attributes:
        vertices (np.ndarray): ``(N, 3)`` float32, mm, finite, ``|x| <=``
            :data:`MAX_COORD_MM`.
        faces (np.ndarray): ``(F, 3)`` int32 in ``[0, N)``.
        face_uvs (np.ndarray, optional): ``(F, 3, 2)`` float32, finite,
            origin bottom-left; set (with ``texture``) only when ``'rgb'`` is
            rendered from a texture.
        texture (np.ndarray, optional): ``(TH, TW, 3)`` uint8, ``TH, TW >=
            1``, row 0 at the top.
        vertex_colors (np.ndarray, optional): ``(N, 3)`` uint8; set only
            when ``'rgb'`` is rendered from vertex colours (no texture).
        path (str, optional): The source file, for messages.
    """

    vertices: np.ndarray
    faces: np.ndarray
    face_uvs: Optional[np.ndarray] = None
    texture: Optional[np.ndarray] = None
    vertex_colors: Optional[np.ndarray] = None
    path: Optional[str] = None

    @property
    def color_source(self) -> str:
        """``'texture'``, ``'vertex'`` or ``'shading'`` (grey)."""
        if self.texture is not None:
            return 'texture'
        return 'vertex' if self.vertex_colors is not None else 'shading'


def _kernel_array(array, dtype):
    # Fixed dtype, C order and writeability keep one compiled signature.
    return np.require(array, dtype, ('C', 'W'))


def _uint8(array, name, shape, where):
    # Colours are never cast: a float texture in [0, 1] would become black.
    if not isinstance(array, np.ndarray) or array.dtype != np.uint8:
        kind = getattr(array, 'dtype', type(array).__name__)
        raise ValueError(f'{name} must be a uint8 {shape} array, got '
                         f'{kind}{where}')
    return _kernel_array(array, np.uint8)


def check_mesh(mesh: Mesh, need_color: bool) -> RenderMesh:
    """Check a mesh for rendering and convert it for the backends.

    Args:
        mesh (Mesh): The mesh.
        need_color (bool): ``'rgb'`` is rendered: check and keep the texture
            and texture coordinates (when both are set) or else the vertex
            colours. Without it, those arrays are ignored.

    Returns:
        RenderMesh: The checked arrays.

    Raises:
        ValueError: If ``mesh`` is not a :class:`Mesh`, has no vertex or no
            face, fails :meth:`Mesh.validate` (shapes, NaN / Inf
            coordinates, face indices out of range), has a coordinate beyond
            :data:`MAX_COORD_MM`, or (with ``need_color``) non-finite
            texture coordinates, an empty or non-uint8 texture or non-uint8
            vertex colours. The message names ``mesh.path``.
    """
    if not isinstance(mesh, Mesh):
        raise ValueError(f'expected a Mesh, got {type(mesh).__name__}')
    where = f' ({mesh.path})' if mesh.path else ''
    if mesh.num_vertices == 0 or mesh.num_faces == 0:
        raise ValueError(f'cannot render an empty mesh{where}: '
                         f'{mesh.num_vertices} vertices, '
                         f'{mesh.num_faces} faces')
    mesh.validate()
    extreme = float(np.abs(mesh.vertices).max())
    if not extreme <= MAX_COORD_MM:
        raise ValueError(f'cannot render{where}: a vertex coordinate is '
                         f'{extreme:.3g} mm, beyond the {MAX_COORD_MM:g} mm '
                         f'a face mesh in mm can have')
    face_uvs = texture = colors = None
    if need_color:
        if mesh.texture is not None and mesh.face_uvs is not None:
            texture = _uint8(mesh.texture, 'texture', '(H, W, 3)', where)
            if texture.shape[0] < 1 or texture.shape[1] < 1:
                raise ValueError(f'texture is empty: {texture.shape}{where}')
            if not np.isfinite(mesh.face_uvs).all():
                bad = int((~np.isfinite(mesh.face_uvs)).any((1, 2)).sum())
                raise ValueError(f'texture coordinates of {bad} faces are '
                                 f'NaN or Inf{where}')
            face_uvs = _kernel_array(mesh.face_uvs, np.float32)
        elif mesh.vertex_colors is not None:
            colors = _uint8(mesh.vertex_colors, 'vertex_colors', '(N, 3)',
                            where)
    return RenderMesh(
        vertices=_kernel_array(mesh.vertices, np.float32),
        faces=_kernel_array(mesh.faces, np.int32),
        face_uvs=face_uvs,
        texture=texture,
        vertex_colors=colors,
        path=mesh.path)


@dataclass(frozen=True)
class PackedMeshes:
    """B meshes concatenated (:meth:`MeshBatch.packed`).

    Attributes:
        vertices (np.ndarray): ``(sum N, 3)`` float32, mesh after mesh.
        faces (np.ndarray): ``(sum F, 3)`` int64 indices into the packed
            ``vertices`` (mesh ``b``'s local indices plus
            ``vertex_offsets[b]``).
        vertex_offsets (np.ndarray): ``(B + 1,)`` int64: mesh ``b`` owns
            ``vertices[vertex_offsets[b]:vertex_offsets[b + 1]]``.
        face_offsets (np.ndarray): ``(B + 1,)`` int64, the same for faces.
        face_uvs (np.ndarray): ``(sum F, 3, 2)`` float32, zeros for meshes
            without texture.
        vertex_colors (np.ndarray): ``(sum N, 3)`` uint8, zeros for meshes
            without vertex colours.
        color_source (np.ndarray): ``(B,)`` int8 index into
            :data:`COLOR_SOURCES` (0 grey shading, 1 vertex, 2 texture).
        textures (list[np.ndarray | None]): B ``(TH_b, TW_b, 3)`` uint8
            textures (sizes differ between meshes) or None.
    """

    vertices: np.ndarray
    faces: np.ndarray
    vertex_offsets: np.ndarray
    face_offsets: np.ndarray
    face_uvs: np.ndarray
    vertex_colors: np.ndarray
    color_source: np.ndarray
    textures: List[Optional[np.ndarray]]


@dataclass(frozen=True)
class PaddedMeshes:
    """B meshes padded to the largest (:meth:`MeshBatch.padded`).

    Attributes:
        vertices (np.ndarray): ``(B, max N, 3)`` float32, zeros after mesh
            ``b``'s ``num_vertices[b]``.
        faces (np.ndarray): ``(B, max F, 3)`` int64 local indices, -1 after
            ``num_faces[b]``.
        num_vertices (np.ndarray): ``(B,)`` int64.
        num_faces (np.ndarray): ``(B,)`` int64.
    """

    vertices: np.ndarray
    faces: np.ndarray
    num_vertices: np.ndarray
    num_faces: np.ndarray


class MeshBatch:
    """B checked meshes, rendered in one backend call.

    Args:
        meshes (Sequence[RenderMesh]): At least one, from :func:`check_mesh`.

    Raises:
        ValueError: If ``meshes`` is empty.
    """

    def __init__(self, meshes: Sequence[RenderMesh]):
        self.meshes: Tuple[RenderMesh, ...] = tuple(meshes)
        if not self.meshes:
            raise ValueError('a MeshBatch needs at least one mesh')

    @classmethod
    def from_meshes(cls, meshes: Sequence[Mesh],
                    need_color: bool) -> 'MeshBatch':
        """Check each mesh (:func:`check_mesh`) and batch them."""
        return cls([check_mesh(m, need_color) for m in meshes])

    def __len__(self) -> int:
        return len(self.meshes)

    @property
    def num_vertices(self) -> np.ndarray:
        """``(B,)`` int64 vertex counts."""
        return np.array([m.vertices.shape[0] for m in self.meshes], np.int64)

    @property
    def num_faces(self) -> np.ndarray:
        """``(B,)`` int64 face counts."""
        return np.array([m.faces.shape[0] for m in self.meshes], np.int64)

    def packed(self) -> PackedMeshes:
        """All meshes concatenated, faces re-indexed (see
        :class:`PackedMeshes`)."""
        nv, nf = self.num_vertices, self.num_faces
        voff = np.concatenate([[0], np.cumsum(nv)]).astype(np.int64)
        foff = np.concatenate([[0], np.cumsum(nf)]).astype(np.int64)
        faces = np.concatenate([
            m.faces.astype(np.int64) + voff[b]
            for b, m in enumerate(self.meshes)
        ])
        uvs = np.zeros((int(foff[-1]), 3, 2), np.float32)
        colors = np.zeros((int(voff[-1]), 3), np.uint8)
        for b, m in enumerate(self.meshes):
            if m.face_uvs is not None:
                uvs[foff[b]:foff[b + 1]] = m.face_uvs
            if m.vertex_colors is not None:
                colors[voff[b]:voff[b + 1]] = m.vertex_colors
        return PackedMeshes(
            vertices=np.concatenate([m.vertices for m in self.meshes]),
            faces=faces,
            vertex_offsets=voff,
            face_offsets=foff,
            face_uvs=uvs,
            vertex_colors=colors,
            color_source=np.array(
                [COLOR_SOURCES.index(m.color_source) for m in self.meshes],
                np.int8),
            textures=[m.texture for m in self.meshes])

    def padded(self) -> PaddedMeshes:
        """Vertices and faces padded to the largest mesh (see
        :class:`PaddedMeshes`); colours come from :meth:`packed` or
        ``meshes``."""
        nv, nf = self.num_vertices, self.num_faces
        verts = np.zeros((len(self), int(nv.max()), 3), np.float32)
        faces = np.full((len(self), int(nf.max()), 3), -1, np.int64)
        for b, m in enumerate(self.meshes):
            verts[b, :nv[b]] = m.vertices
            faces[b, :nf[b]] = m.faces
        return PaddedMeshes(
            vertices=verts, faces=faces, num_vertices=nv, num_faces=nf)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_meshes={len(self)}, '
                f'num_vertices={self.num_vertices.tolist()}, '
                f'num_faces={self.num_faces.tolist()})')
