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
    """

    vertices: np.ndarray  # (N, 3) float32, mm
    faces: np.ndarray  # (F, 3) int32, vertex indices
    face_uvs: Optional[np.ndarray] = None  # (F, 3, 2) float32, per corner
    texture: Optional[np.ndarray] = None  # (H, W, 3) uint8, RGB
    vertex_colors: Optional[np.ndarray] = None  # (N, 3) uint8, RGB
    landmarks: Optional[np.ndarray] = None  # (L, 3) float32, mm
    metainfo: dict = field(default_factory=dict)

    def __post_init__(self):
        self.vertices = np.ascontiguousarray(self.vertices, dtype=np.float32)
        self.faces = np.ascontiguousarray(self.faces, dtype=np.int32)
        if self.face_uvs is not None:
            self.face_uvs = np.ascontiguousarray(
                self.face_uvs, dtype=np.float32)
        if self.landmarks is not None:
            self.landmarks = np.ascontiguousarray(
                self.landmarks, dtype=np.float32)

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

        Returns:
            Mesh: ``self``, for chaining.

        Raises:
            ValueError: If any array has the wrong shape, a coordinate is NaN
                or Inf, or a face index is out of ``[0, N)``.
        """
        where = f' (from {self.path})' if self.path else ''
        if self.vertices.ndim != 2 or self.vertices.shape[1] != 3:
            raise ValueError(f'vertices must be (N, 3), got '
                             f'{self.vertices.shape}{where}')
        if self.faces.ndim != 2 or self.faces.shape[1] != 3:
            raise ValueError(
                f'faces must be (F, 3), got {self.faces.shape}{where}')
        if not np.isfinite(self.vertices).all():
            raise ValueError(f'vertices contain NaN or Inf{where}')
        if self.faces.size and (self.faces.min() < 0 or
                                self.faces.max() >= self.num_vertices):
            raise ValueError(
                f'face index out of range [0, {self.num_vertices}){where}')
        if self.face_uvs is not None and \
                self.face_uvs.shape != (self.num_faces, 3, 2):
            raise ValueError(f'face_uvs must be ({self.num_faces}, 3, 2), got '
                             f'{self.face_uvs.shape}{where}')
        if self.texture is not None and (self.texture.ndim != 3
                                         or self.texture.shape[2] != 3):
            raise ValueError(f'texture must be (H, W, 3), got '
                             f'{self.texture.shape}{where}')
        if self.vertex_colors is not None and \
                self.vertex_colors.shape != (self.num_vertices, 3):
            raise ValueError(
                f'vertex_colors must be ({self.num_vertices}, 3), got '
                f'{self.vertex_colors.shape}{where}')
        if self.landmarks is not None and (self.landmarks.ndim != 2 or
                                           self.landmarks.shape[1] != 3):
            raise ValueError(f'landmarks must be (L, 3), got '
                             f'{self.landmarks.shape}{where}')
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
