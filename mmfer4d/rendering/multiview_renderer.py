# Copyright (c) mmfer4d contributors. All rights reserved.
"""A fast CPU multi-view rasteriser for face meshes (no GL, no display)."""
import math
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from mmfer4d.structures.mesh import Mesh
from . import kernels as K
from .cameras import ViewSpec, resolve_views, view_rotations

#: Channels of each modality in the packed uint8 output, in this layout.
MODALITY_CHANNELS = {
    'depth': 1,  # 8-bit normalised depth, near = bright, background 0
    'normal': 3,  # camera-frame normal xyz, [-1, 1] -> [0, 255]
    'rgb': 3,  # texture (bilinear) or vertex colour
    'shading': 1,  # Lambertian grey
    'mask': 1,  # foreground 255
}
_SLOT = {
    'depth': K.C_DEPTH,
    'normal': K.C_NORMAL,
    'rgb': K.C_RGB,
    'shading': K.C_SHADING,
    'mask': K.C_MASK
}

_EMPTY_UVS = np.zeros((0, 3, 2), np.float32)
_EMPTY_TEX = np.zeros((0, 0, 3), np.uint8)
_EMPTY_COLORS = np.zeros((0, 3), np.uint8)
_EMPTY_NORMALS = np.zeros((0, 3), np.float32)


@dataclass
class RenderOutput:
    """What :meth:`MultiViewRenderer.render` returns.

    Attributes:
        images (np.ndarray): ``(V, H, W, C)`` uint8, the modalities' channels
            concatenated in the renderer's order (see
            :data:`MODALITY_CHANNELS`); background 0.
        depth (np.ndarray, optional): ``(V, H, W)`` float32 depth in mm along
            the viewing axis, from the camera plane (orthographic) or the
            camera centre (perspective); background 0. Only when asked.
        face_index (np.ndarray, optional): ``(V, H, W)`` int32 visible
            triangle per pixel, -1 for background. Only when asked.
        view_angles (np.ndarray): ``(V, 3)`` yaw, pitch, roll in degrees.
        modalities (tuple[str]): The rendered modalities, in channel order.
    """

    images: np.ndarray
    depth: Optional[np.ndarray]
    face_index: Optional[np.ndarray]
    view_angles: np.ndarray
    modalities: Tuple[str, ...]

    @property
    def mask(self) -> np.ndarray:
        """``(V, H, W)`` bool foreground, from ``face_index`` or ``depth``."""
        if self.face_index is not None:
            return self.face_index >= 0
        if self.depth is not None:
            return self.depth != 0
        raise ValueError('render with return_depth=True or '
                         'return_face_index=True to get a mask')


class MultiViewRenderer:
    """Z-buffer rendering of a mesh from V cameras in one call.

    Cameras orbit the face centre at ``(yaw, pitch, roll)`` degrees (sign
    conventions in :mod:`mmfer4d.rendering.cameras`; ``'left'`` = yaw +45
    shows the subject's left cheek). Open scans are two-sided: no back-face
    culling, normals are flipped to face the camera. The heavy work is in the
    single-threaded numba kernels of :mod:`mmfer4d.rendering.kernels`;
    scratch buffers are reused between calls of one renderer.

    Args:
        views (str | tuple | Sequence): View names of
            :data:`~mmfer4d.rendering.cameras.NAMED_VIEWS` and / or
            ``(yaw, pitch, roll)`` tuples in degrees. Defaults to
            ``('front', 'left', 'right')``.
        size (int | tuple[int, int]): Image size, ``S`` or ``(H, W)`` in px.
            Defaults to 224.
        modalities (Sequence[str]): Any of ``'depth', 'normal', 'rgb',
            'shading', 'mask'``; output channels follow this order.
            Defaults to ``('depth', 'normal')``.
        ortho (bool): Orthographic projection; else perspective with
            ``fov``. Defaults to True.
        fov (float): Perspective field of view across the smaller image side,
            degrees. Defaults to 30.
        extent_mm (float | str): Half-width in mm of what the smaller image
            side shows around the centre (for perspective: in the plane
            through the centre). The default 95 frames a nose-tip-centred
            face cropped to a 90 mm sphere with a small margin, from any
            view. ``'auto'`` fits the bounding sphere of each mesh about the
            centre (times ``1 + margin``). Defaults to 95.
        center (str | Sequence[float]): Point the cameras orbit and look at:
            ``'origin'`` (a normalised, nose-tip-centred face), ``'bbox'``
            (the bounding-box centre of each mesh) or an ``(x, y, z)`` in mm.
            Defaults to ``'origin'``.
        camera_distance_mm (float, optional): Camera distance from the
            centre in mm. Defaults to ``extent / tan(fov / 2)`` for
            perspective (the centre plane spans ``extent``) and ``2 *
            extent`` for orthographic (only float depth depends on it).
        depth_range_mm (float, optional): Half-width in mm of a fixed depth
            window about the centre mapped to the 8-bit depth (``z = +r`` ->
            255, ``z = -r`` -> 1, clipped). None normalises each view's
            foreground min..max to 255..1. Defaults to None.
        light_dir (Sequence[float]): Light direction for ``'shading'`` in
            the camera frame (towards the light). Defaults to
            ``(0.3, 0.5, 1.0)`` (from above right of the camera).
        ambient (float): Ambient term of the shading in [0, 1]. Defaults to
            0.15.
        margin (float): Relative margin of ``extent_mm='auto'``. Defaults to
            0.05.
        near_mm (float): Perspective near plane; triangles with a corner
            nearer than this are skipped. Defaults to 1.

    Raises:
        ValueError: On an unknown view or modality, a bad size, extent, fov
            or centre.
    """

    def __init__(self,
                 views: Union[ViewSpec, Sequence[ViewSpec]] = ('front', 'left',
                                                               'right'),
                 size: Union[int, Tuple[int, int]] = 224,
                 modalities: Sequence[str] = ('depth', 'normal'),
                 ortho: bool = True,
                 fov: float = 30.0,
                 extent_mm: Union[float, str] = 95.0,
                 center: Union[str, Sequence[float]] = 'origin',
                 camera_distance_mm: Optional[float] = None,
                 depth_range_mm: Optional[float] = None,
                 light_dir: Sequence[float] = (0.3, 0.5, 1.0),
                 ambient: float = 0.15,
                 margin: float = 0.05,
                 near_mm: float = 1.0):
        self.view_angles = resolve_views(views)
        self.rotations = np.ascontiguousarray(
            view_rotations(self.view_angles))
        if isinstance(size, (int, np.integer)):
            size = (int(size), int(size))
        size = tuple(int(s) for s in size)
        if len(size) != 2 or min(size) < 1:
            raise ValueError(f'size must be a positive int or (H, W), got '
                             f'{size}')
        self.size = size
        if isinstance(modalities, str):
            modalities = (modalities, )
        modalities = tuple(modalities)
        if not modalities:
            raise ValueError('at least one modality is needed')
        for m in modalities:
            if m not in MODALITY_CHANNELS:
                raise ValueError(f'unknown modality {m!r}; choose from '
                                 f'{tuple(MODALITY_CHANNELS)}')
        if len(set(modalities)) != len(modalities):
            raise ValueError(f'repeated modality in {modalities}')
        self.modalities = modalities
        self.channels = np.full(K.NUM_CHANNEL_SLOTS, -1, np.int64)
        offset = 0
        for m in modalities:
            self.channels[_SLOT[m]] = offset
            offset += MODALITY_CHANNELS[m]
        self.num_channels = offset
        self.ortho = bool(ortho)
        self.fov = float(fov)
        if not self.ortho and not 0.0 < self.fov < 180.0:
            raise ValueError(f'fov must be in (0, 180) degrees, got {fov}')
        if isinstance(extent_mm, str):
            if extent_mm != 'auto':
                raise ValueError(f"extent_mm must be a number of mm or "
                                 f"'auto', got {extent_mm!r}")
        elif not float(extent_mm) > 0:
            raise ValueError(f'extent_mm must be > 0, got {extent_mm}')
        self.extent_mm = extent_mm
        if isinstance(center, str):
            if center not in ('origin', 'bbox'):
                raise ValueError(f"center must be 'origin', 'bbox' or "
                                 f"(x, y, z) mm, got {center!r}")
        elif len(center) != 3:
            raise ValueError(f'center must have 3 coordinates, got {center}')
        self.center = center
        self.camera_distance_mm = camera_distance_mm
        self.depth_range_mm = depth_range_mm
        light = np.asarray(light_dir, np.float64)
        if light.shape != (3, ) or not np.linalg.norm(light) > 0:
            raise ValueError(f'light_dir must be a nonzero 3-vector, got '
                             f'{light_dir}')
        self.light_dir = light / np.linalg.norm(light)
        self.ambient = float(ambient)
        self.margin = float(margin)
        self.near_mm = float(near_mm)
        self._need_normals = ('normal' in modalities
                              or 'shading' in modalities)
        self._scratch = {}

    @property
    def num_views(self) -> int:
        return len(self.view_angles)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(views={self.view_angles.tolist()},'
                f' size={self.size}, modalities={self.modalities}, '
                f'ortho={self.ortho}, fov={self.fov}, '
                f'extent_mm={self.extent_mm}, center={self.center!r})')

    def _buffer(self, name, shape, dtype):
        buf = self._scratch.get(name)
        if buf is None or buf.shape != shape:
            buf = np.empty(shape, dtype)
            self._scratch[name] = buf
        return buf

    def _params(self, mesh: Mesh) -> np.ndarray:
        verts = mesh.vertices
        if isinstance(self.center, str):
            center = (np.zeros(3) if self.center == 'origin' else
                      (verts.min(0).astype(np.float64) + verts.max(0)) / 2)
        else:
            center = np.asarray(self.center, np.float64)
        if self.extent_mm == 'auto':
            radius = float(
                np.sqrt(((verts - center)**2).sum(1).max()))
            extent = max(radius, 1e-6) * (1.0 + self.margin)
        else:
            extent = float(self.extent_mm)
        height, width = self.size
        half = min(height, width) / 2.0
        p = np.zeros(K.NUM_PARAMS)
        p[K.P_ORTHO] = 1.0 if self.ortho else 0.0
        if self.ortho:
            p[K.P_SCALE] = half / extent
            dist = 2.0 * extent
        else:
            tan = math.tan(math.radians(self.fov) / 2.0)
            p[K.P_SCALE] = half / tan
            dist = extent / tan
        if self.camera_distance_mm is not None:
            dist = float(self.camera_distance_mm)
        p[K.P_CX] = width / 2.0
        p[K.P_CY] = height / 2.0
        p[K.P_CAM_DIST] = dist
        p[K.P_NEAR] = self.near_mm
        p[K.P_DEPTH_RANGE] = (-1.0 if self.depth_range_mm is None else float(
            self.depth_range_mm))
        p[K.P_LIGHT_X:K.P_LIGHT_Z + 1] = self.light_dir
        p[K.P_AMBIENT] = self.ambient
        p[K.P_CENTER_X:K.P_CENTER_Z + 1] = center
        return p

    def render(self,
               mesh: Mesh,
               return_depth: bool = False,
               return_face_index: bool = False) -> RenderOutput:
        """Render all views of one mesh.

        Args:
            mesh (Mesh): The face. ``'rgb'`` uses ``texture`` + ``face_uvs``
                when both are set, else ``vertex_colors``, else the grey
                shading.
            return_depth (bool): Also return float depth in mm. Defaults to
                False.
            return_face_index (bool): Also return the visible triangle ids.
                Defaults to False.

        Returns:
            RenderOutput: The images (and depth / triangle ids when asked).

        Raises:
            ValueError: If the mesh has no vertex or no face, or fails
                :meth:`Mesh.validate`; the message names ``mesh.path``.
        """
        if not isinstance(mesh, Mesh):
            raise ValueError(f'expected a Mesh, got {type(mesh).__name__}')
        where = f' ({mesh.path})' if mesh.path else ''
        if mesh.num_vertices == 0 or mesh.num_faces == 0:
            raise ValueError(f'cannot render an empty mesh{where}: '
                             f'{mesh.num_vertices} vertices, '
                             f'{mesh.num_faces} faces')
        mesh.validate()
        # Fixed dtypes / layouts / writeability keep one compiled signature.
        vertices = np.require(mesh.vertices, np.float32, ('C', 'W'))
        faces = np.require(mesh.faces, np.int32, ('C', 'W'))
        face_uvs, texture = _EMPTY_UVS, _EMPTY_TEX
        colors = _EMPTY_COLORS
        if 'rgb' in self.modalities:
            if mesh.texture is not None and mesh.face_uvs is not None:
                face_uvs = np.require(mesh.face_uvs, np.float32, ('C', 'W'))
                texture = np.require(mesh.texture, np.uint8, ('C', 'W'))
            elif mesh.vertex_colors is not None:
                colors = np.require(mesh.vertex_colors, np.uint8, ('C', 'W'))
        nv, nvert, nface = self.num_views, vertices.shape[0], faces.shape[0]
        height, width = self.size
        # Per-view scratch (reused view after view and call after call).
        xy = self._buffer('xy', (nvert, 2), np.int32)
        qs = self._buffer('qs', (nvert, ), np.float32)
        if self._need_normals:
            normals = self._buffer('normals', (nvert, 3), np.float32)
            cam_normals = self._buffer('cam_normals', (nvert, 3), np.float32)
        else:
            normals = cam_normals = _EMPTY_NORMALS
        uv_tex = (self._buffer('uv_tex', (nface, 3, 2), np.float32)
                  if face_uvs.shape[0] > 0 else _EMPTY_UVS)
        face_sign = self._buffer('face_sign', (nface, ), np.float32)
        # Row-major pixels plus one spare slot (see K.rasterize_view).
        npix = height * width + 1
        zbuf = self._buffer('zbuf', (npix, ), np.int32)
        tview = self._buffer('tview', (npix, ), np.int32)
        bary = self._buffer('bary', (2 * npix, ), np.float32)
        # Unwanted per-pixel outputs are passed empty (the kernel skips them).
        tids = np.empty((nv if return_face_index else 0, height, width),
                        np.int32)
        depth = np.empty((nv if return_depth else 0, height, width),
                         np.float32)
        out = np.zeros((nv, height, width, self.num_channels), np.uint8)
        K.render_kernel(vertices, faces, face_uvs, texture, colors,
                        self.rotations, self._params(mesh), self.channels,
                        normals, xy, qs, cam_normals, uv_tex, face_sign, zbuf,
                        tview, bary, tids, depth, out)
        return RenderOutput(
            images=out,
            depth=depth if return_depth else None,
            face_index=tids if return_face_index else None,
            view_angles=self.view_angles.copy(),
            modalities=self.modalities)

    def __call__(self, mesh: Mesh, **kwargs) -> RenderOutput:
        return self.render(mesh, **kwargs)


def render_multiview(mesh: Mesh,
                     views: Union[ViewSpec, Sequence[ViewSpec]] = 'front',
                     size: Union[int, Tuple[int, int]] = 224,
                     modalities: Sequence[str] = ('depth', ),
                     return_depth: bool = False,
                     return_face_index: bool = False,
                     **kwargs) -> RenderOutput:
    """One-off rendering; see :class:`MultiViewRenderer` for the arguments.

    Prefer a :class:`MultiViewRenderer` kept across calls in loops: it
    reuses its scratch buffers.
    """
    renderer = MultiViewRenderer(
        views=views, size=size, modalities=modalities, **kwargs)
    return renderer.render(
        mesh, return_depth=return_depth, return_face_index=return_face_index)
