# Copyright (c) mmfer4d contributors. All rights reserved.
"""Multi-view rendering of face meshes (no GL, no display): the front.

:class:`MultiViewRenderer` checks its arguments and each mesh, places the
cameras, caps the memory, calls a backend (:mod:`mmfer4d.rendering.backends`,
``'numba'`` by default) and checks what comes back (blank views), then
projects the mesh's landmarks into every view.
"""
import math
import warnings
from numbers import Integral, Real
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from mmfer4d.structures.mesh import Mesh
from .backends.base import (BatchRenderOutput, RenderSettings,
                            build_render_backend)
from .cameras import ViewSpec, resolve_views, view_rotations
from .mesh_batch import MeshBatch
from .modalities import MODALITY_CHANNELS, check_modalities, num_channels
from .projection import Cameras, frame_cameras, point_visibility
from .render_output import RenderOutput

__all__ = ['MODALITY_CHANNELS', 'MultiViewRenderer', 'RenderOutput',
           'render_multiview']


def _positive(name, value, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, Real) or \
            not 0 < float(value) < math.inf:
        raise ValueError(f'{name} must be a finite number > 0, got '
                         f'{value!r}')
    return float(value)


def _numpy(array) -> np.ndarray:
    # A device backend may return torch tensors (on its device).
    if hasattr(array, 'detach'):
        return array.detach().cpu().numpy()
    return np.asarray(array)


def _image_size(size) -> Tuple[int, int]:
    if isinstance(size, Integral) and not isinstance(size, bool):
        size = (size, size)
    if not isinstance(size, (tuple, list)) or len(size) != 2 or not all(
            isinstance(s, Integral) and not isinstance(s, bool)
            for s in size):
        raise ValueError(f'size must be an int or a pair of ints (H, W) in '
                         f'px, got {size!r} ({type(size).__name__})')
    size = (int(size[0]), int(size[1]))
    if min(size) < 1:
        raise ValueError(f'size must be positive, got {size}')
    return size


class MultiViewRenderer:
    """Z-buffer rendering of a mesh from V cameras in one call.

    Cameras orbit the face centre at ``(yaw, pitch, roll)`` degrees (sign
    conventions in :mod:`mmfer4d.rendering.cameras`; ``'left'`` = yaw +45
    shows the subject's left cheek). Open scans are two-sided: no back-face
    culling, normals are flipped to face the camera. The drawing is done by
    a backend chosen by name (the single-threaded numba kernels by
    default); this front checks everything the backend is handed.

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
            centre in mm (> 0). Defaults to ``extent / tan(fov / 2)`` for
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
        backend (str): Registered backend name
            (:data:`~mmfer4d.rendering.backends.RENDER_BACKENDS`). Defaults
            to ``'numba'``.
        backend_args (dict, optional): Options of the backend. Defaults to
            None.
        min_coverage (float): A view covering less than this fraction of its
            pixels is blank (cameras behind the mesh, the mesh off-centre or
            shrunk by a far outlier with ``extent_mm='auto'``). Defaults to
            0.01 (a face fills 20-60 %).
        on_blank (str): ``'raise'`` (a ValueError naming the file and views;
            a data set with ``skip_broken`` counts and skips it),
            ``'warn'`` or ``'ignore'``. Defaults to ``'raise'``.
        max_memory_mb (float): Cap in MB (10**6 bytes) on the memory of
            one render (images, float depth and triangle ids for all views,
            and the backend's scratch), checked at construction. Defaults
            to 2048 (8 views of 9 channels fit up to about 3700 px).
        project_landmarks (bool): Project ``mesh.landmarks`` into the views
            (``RenderOutput.landmarks_2d`` / ``landmarks_visible``).
            Defaults to True.
        landmark_tol_mm (float): Occlusion tolerance of the landmark
            visibility, mm. Defaults to 2.

    Raises:
        ValueError: On an unknown view, modality or backend, a bad size
            (not an int, not positive, over the backend's limit), a render
            over ``max_memory_mb``, a bad extent, fov, centre, distance,
            near plane, ``min_coverage``, ``on_blank`` or
            ``landmark_tol_mm``.
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
                 near_mm: float = 1.0,
                 backend: str = 'numba',
                 backend_args: Optional[dict] = None,
                 min_coverage: float = 0.01,
                 on_blank: str = 'raise',
                 max_memory_mb: float = 2048.0,
                 project_landmarks: bool = True,
                 landmark_tol_mm: float = 2.0):
        self.view_angles = resolve_views(views)
        self.rotations = np.ascontiguousarray(
            view_rotations(self.view_angles))
        self.size = _image_size(size)
        self.modalities = check_modalities(modalities)
        self.num_channels = num_channels(self.modalities)
        self.ortho = bool(ortho)
        self.fov = float(fov)
        if not self.ortho and not 0.0 < self.fov < 180.0:
            raise ValueError(f'fov must be in (0, 180) degrees, got {fov}')
        if isinstance(extent_mm, str):
            if extent_mm != 'auto':
                raise ValueError(f"extent_mm must be a number of mm or "
                                 f"'auto', got {extent_mm!r}")
        else:
            _positive('extent_mm', extent_mm)
        self.extent_mm = extent_mm
        if isinstance(center, str):
            if center not in ('origin', 'bbox'):
                raise ValueError(f"center must be 'origin', 'bbox' or "
                                 f"(x, y, z) mm, got {center!r}")
        elif len(center) != 3 or not np.isfinite(
                np.asarray(center, np.float64)).all():
            raise ValueError(f'center must have 3 finite coordinates, got '
                             f'{center}')
        self.center = center
        self.camera_distance_mm = _positive(
            'camera_distance_mm', camera_distance_mm, allow_none=True)
        self.depth_range_mm = _positive(
            'depth_range_mm', depth_range_mm, allow_none=True)
        light = np.asarray(light_dir, np.float64)
        if light.shape != (3, ) or not np.linalg.norm(light) > 0 or \
                not np.isfinite(light).all():
            raise ValueError(f'light_dir must be a nonzero 3-vector, got '
                             f'{light_dir}')
        self.light_dir = light / np.linalg.norm(light)
        self.ambient = float(ambient)
        if not 0.0 <= self.ambient <= 1.0:
            raise ValueError(f'ambient must be in [0, 1], got {ambient}')
        self.margin = float(margin)
        if not 0.0 <= self.margin < math.inf:
            raise ValueError(f'margin must be >= 0, got {margin}')
        self.near_mm = _positive('near_mm', near_mm)
        if not 0.0 <= min_coverage <= 1.0:
            raise ValueError(f'min_coverage must be in [0, 1], got '
                             f'{min_coverage}')
        self.min_coverage = float(min_coverage)
        if on_blank not in ('raise', 'warn', 'ignore'):
            raise ValueError(f"on_blank must be 'raise', 'warn' or 'ignore',"
                             f' got {on_blank!r}')
        self.on_blank = on_blank
        self.num_blank = 0  # renders with a blank view seen (warn / ignore)
        self.project_landmarks = bool(project_landmarks)
        self.landmark_tol_mm = float(landmark_tol_mm)
        if not 0.0 <= self.landmark_tol_mm < math.inf:
            raise ValueError(f'landmark_tol_mm must be >= 0, got '
                             f'{landmark_tol_mm}')
        self.settings = RenderSettings(
            modalities=self.modalities,
            depth_range_mm=self.depth_range_mm,
            light_dir=tuple(float(x) for x in self.light_dir),
            ambient=self.ambient)
        self.backend = build_render_backend(backend, **(backend_args or {}))
        self.max_memory_mb = _positive('max_memory_mb', max_memory_mb)
        self._check_memory(1)
        if max(self.size) > self.backend.max_image_side:
            raise ValueError(
                f'size {self.size} is over the {self.backend.name!r} '
                f"backend's limit of {self.backend.max_image_side} px")

    @property
    def num_views(self) -> int:
        return len(self.view_angles)

    def memory_bytes(self, batch_size: int = 1) -> int:
        """Memory of rendering ``batch_size`` meshes in one call, bytes:
        images, float depth and triangle ids of every view, and the
        backend's scratch."""
        per_pixel = batch_size * self.num_views * (self.num_channels + 8)
        per_pixel += self.backend.scratch_bytes_per_pixel(
            self.num_views, self.num_channels, batch_size)
        return self.size[0] * self.size[1] * per_pixel

    def _check_memory(self, batch_size):
        need = self.memory_bytes(batch_size) / 1e6
        if need > self.max_memory_mb:
            raise ValueError(
                f'rendering {batch_size} mesh(es) at size {self.size} with '
                f'{self.num_views} views and {self.num_channels} channels '
                f'needs about {need / 1e3:.1f} GB (images, float depth, '
                f'triangle ids and scratch), over max_memory_mb='
                f'{self.max_memory_mb:g}: lower size, views or batch, or '
                f'raise max_memory_mb')

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(views={self.view_angles.tolist()},'
                f' size={self.size}, modalities={self.modalities}, '
                f'ortho={self.ortho}, fov={self.fov}, '
                f'extent_mm={self.extent_mm}, center={self.center!r}, '
                f'backend={self.backend.name!r})')

    def cameras(self, batch: MeshBatch) -> Cameras:
        """The cameras of each mesh of ``batch`` (see
        :func:`~mmfer4d.rendering.projection.frame_cameras`)."""
        return frame_cameras(
            batch,
            self.rotations,
            self.size,
            ortho=self.ortho,
            fov=self.fov,
            extent_mm=self.extent_mm,
            center=self.center,
            camera_distance_mm=self.camera_distance_mm,
            margin=self.margin,
            near_mm=self.near_mm)

    def _check_blank(self, coverage, paths):
        for b, cov in enumerate(np.asarray(coverage)):
            low = np.flatnonzero(cov < self.min_coverage)
            if not len(low):
                continue
            self.num_blank += 1
            if self.on_blank == 'ignore':
                continue
            where = f' of {paths[b]}' if paths[b] else ''
            views = ', '.join(f'{tuple(self.view_angles[v].tolist())}: '
                              f'{100 * cov[v]:.2f}%' for v in low)
            msg = (f'blank render{where}: views (yaw, pitch, roll) {views} '
                   f'cover less than min_coverage={self.min_coverage:g} of '
                   f'the image (cameras behind the mesh or the near plane, '
                   f'the mesh off-centre, or shrunk by a far outlier vertex '
                   f'with extent_mm="auto"?)')
            if self.on_blank == 'raise':
                raise ValueError(msg)
            if self.on_blank == 'warn':
                warnings.warn(msg)

    def render_batch(self,
                     meshes: Sequence[Mesh],
                     return_depth: bool = False,
                     return_face_index: bool = False) -> BatchRenderOutput:
        """Render all views of B meshes in one backend call.

        Args:
            meshes (Sequence[Mesh]): B meshes (sizes may differ).
            return_depth (bool): Also return float depth in mm. Defaults to
                False.
            return_face_index (bool): Also return the visible triangle ids.
                Defaults to False.

        Returns:
            BatchRenderOutput: ``(B, V, H, W, C)`` images and ``(B, V)``
            coverage (and depth / triangle ids when asked), with
            ``landmarks_2d`` / ``landmarks_visible`` attributes: B
            ``(V, L, 2)`` / ``(V, L)`` arrays, None for a mesh without
            landmarks.

        Raises:
            ValueError: If a mesh cannot be rendered (see
                :func:`~mmfer4d.rendering.mesh_batch.check_mesh`; the
                message names ``mesh.path``), the batch is over
                ``max_memory_mb``, or (``on_blank='raise'``) a view is
                blank.
        """
        meshes = list(meshes)
        batch = MeshBatch.from_meshes(meshes, 'rgb' in self.modalities)
        if len(batch) > 1:
            self._check_memory(len(batch))
        cameras = self.cameras(batch)
        with_lm = self.project_landmarks and any(
            m.landmarks is not None and len(m.landmarks) for m in meshes)
        out = self.backend.render(batch, cameras, self.settings,
                                  return_depth or with_lm, return_face_index)
        self._check_blank(out.coverage, [m.path for m in batch.meshes])
        out.landmarks_2d = [None] * len(batch)
        out.landmarks_visible = [None] * len(batch)
        if with_lm:
            for b, mesh in enumerate(meshes):
                if mesh.landmarks is None or not len(mesh.landmarks):
                    continue
                xy, depth = cameras.project(mesh.landmarks, b)
                out.landmarks_visible[b] = point_visibility(
                    xy, depth, _numpy(out.depth[b]), self.landmark_tol_mm)
                out.landmarks_2d[b] = xy.astype(np.float32)
            if not return_depth:
                out.depth = None
        return out

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
            RenderOutput: The images, coverage, projected landmarks (when
            the mesh has some), and depth / triangle ids when asked.

        Raises:
            ValueError: As :meth:`render_batch`.
        """
        out = self.render_batch([mesh], return_depth, return_face_index)
        return RenderOutput(
            images=out.images[0],
            depth=None if out.depth is None else out.depth[0],
            face_index=None if out.face_index is None else out.face_index[0],
            view_angles=self.view_angles.copy(),
            modalities=self.modalities,
            coverage=out.coverage[0],
            landmarks_2d=out.landmarks_2d[0],
            landmarks_visible=out.landmarks_visible[0])

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

    Prefer a :class:`MultiViewRenderer` kept across calls in loops: its
    backend reuses scratch buffers.
    """
    renderer = MultiViewRenderer(
        views=views, size=size, modalities=modalities, **kwargs)
    return renderer.render(
        mesh, return_depth=return_depth, return_face_index=return_face_index)
