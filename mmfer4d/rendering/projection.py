# Copyright (c) mmfer4d contributors. All rights reserved.
"""The cameras of one render call, and 3D points projected into their pixels.

Pure numpy, with the rasteriser's conventions (see
:mod:`mmfer4d.rendering.cameras` for the view angles):

- A point ``p`` (world, mm) is in camera coordinates ``c = R (p - o)``
  (``R`` the view's world-to-camera rotation, ``o`` the centre the cameras
  orbit; camera ``x`` right, ``y`` up, ``z`` towards the camera). Its depth
  is ``d = D - c_z`` (``D`` the camera distance): along the viewing axis
  from the camera plane (orthographic) or the camera centre (perspective).
- Pixel coordinates: ``x = W / 2 + s c_x`` and ``y = H / 2 - s c_y``
  (orthographic, ``s`` in px per mm) or ``x = W / 2 + f c_x / d`` and
  ``y = H / 2 - f c_y / d`` (perspective, ``f`` the focal length in px),
  x right and y down, continuous: pixel ``(row i, column j)`` spans
  ``[j, j + 1) x [i, i + 1)`` and samples its centre ``(j + 0.5, i + 0.5)``.
- The perspective rasteriser draws nothing nearer than ``near_mm``; the
  orthographic one has no near plane.
"""
import math
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple, Union

import numpy as np


_NEIGHBOUR_ROWS = np.repeat([-1, 0, 1], 3)
_NEIGHBOUR_COLS = np.tile([-1, 0, 1], 3)


@dataclass(frozen=True)
class Cameras:
    """V cameras around each of B meshes, as one render call uses them.

    The front (:class:`~mmfer4d.rendering.MultiViewRenderer`) makes these
    from its arguments and each mesh (centre ``'bbox'``, extent ``'auto'``);
    backends only read them.

    Attributes:
        rotations (np.ndarray): ``(V, 3, 3)`` float64 world-to-camera
            rotations, shared by the meshes.
        centers (np.ndarray): ``(B, 3)`` float64 point each mesh's cameras
            orbit and look at, mm.
        scales (np.ndarray): ``(B,)`` float64 px per mm (orthographic) or
            focal length in px (perspective).
        distances (np.ndarray): ``(B,)`` float64 camera distance from the
            centre, mm (> 0).
        size (tuple[int, int]): ``(H, W)`` image size, px.
        ortho (bool): Orthographic, else perspective.
        near_mm (float): Perspective near plane, mm.
    """

    rotations: np.ndarray
    centers: np.ndarray
    scales: np.ndarray
    distances: np.ndarray
    size: Tuple[int, int]
    ortho: bool
    near_mm: float

    @property
    def num_views(self) -> int:
        return int(self.rotations.shape[0])

    @property
    def num_meshes(self) -> int:
        return int(self.centers.shape[0])

    @property
    def principal_point(self) -> Tuple[float, float]:
        """``(x, y)`` of the image centre in px: ``(W / 2, H / 2)``."""
        return self.size[1] / 2.0, self.size[0] / 2.0

    def project(self, points: np.ndarray,
                index: int = 0) -> Tuple[np.ndarray, np.ndarray]:
        """Project 3D points into every view of mesh ``index``.

        Args:
            points (np.ndarray): ``(L, 3)`` world positions, mm.
            index (int): Which mesh's cameras (centre, scale, distance).
                Defaults to 0.

        Returns:
            tuple[np.ndarray, np.ndarray]: ``xy`` ``(V, L, 2)`` float64
            pixel coordinates (x right, y down; NaN where a perspective
            camera has the point nearer than ``near_mm``) and ``depth``
            ``(V, L)`` float64 in mm along each viewing axis.
        """
        pts = np.asarray(points, np.float64).reshape(-1, 3)
        cam = (pts - self.centers[index]) @ self.rotations.transpose(0, 2, 1)
        depth = self.distances[index] - cam[..., 2]
        scale = self.scales[index]
        if self.ortho:
            factor = np.full_like(depth, scale)
        else:
            with np.errstate(divide='ignore', invalid='ignore'):
                factor = np.where(depth >= self.near_mm, scale / depth,
                                  np.nan)
        cx, cy = self.principal_point
        xy = np.stack([cx + factor * cam[..., 0], cy - factor * cam[..., 1]],
                      -1)
        return xy, depth


def point_visibility(xy: np.ndarray,
                     depth: np.ndarray,
                     depth_map: np.ndarray,
                     tol_mm: float = 2.0) -> np.ndarray:
    """Which projected points a render shows.

    A point is visible in a view when it is in front of the camera (a finite
    ``xy``), inside the image, and not occluded: one of the rendered pixels
    of its 3 x 3 neighbourhood (its own pixel and the 8 around it, to allow
    for the half-pixel sampling at silhouettes and on steep slopes) holds a
    surface no nearer than ``depth - tol_mm``. A point over the background
    only (no surface in its neighbourhood) is not visible.

    Args:
        xy (np.ndarray): ``(V, L, 2)`` pixel coordinates from
            :meth:`Cameras.project`.
        depth (np.ndarray): ``(V, L)`` the points' depths in mm.
        depth_map (np.ndarray): ``(V, H, W)`` rendered float depth in mm,
            0 for background (``RenderOutput.depth``).
        tol_mm (float): How much nearer than the point the rendered surface
            may be, mm. Defaults to 2.

    Returns:
        np.ndarray: ``(V, L)`` bool.
    """
    num_views, height, width = depth_map.shape
    with np.errstate(invalid='ignore'):
        inside = ((xy[..., 0] >= 0) & (xy[..., 0] < width) &
                  (xy[..., 1] >= 0) & (xy[..., 1] < height))
    # The 3 x 3 neighbourhood of each point's pixel in one gather: rows
    # and columns ``(V, L, 9)``, clipped; a clipped (outside) neighbour
    # repeats an edge pixel of the same neighbourhood, which changes
    # nothing.
    pix = np.where(inside[..., None], np.floor(np.nan_to_num(xy)), 0)
    pix = pix.astype(np.int64)
    row = np.clip(pix[..., 1:2] + _NEIGHBOUR_ROWS, 0, height - 1)
    col = np.clip(pix[..., 0:1] + _NEIGHBOUR_COLS, 0, width - 1)
    d = depth_map[np.arange(num_views)[:, None, None], row, col]
    seen = ((d != 0) & (d >= depth[..., None] - tol_mm)).any(-1)
    return inside & seen


def frame_cameras(batch,
                  rotations: np.ndarray,
                  size: Tuple[int, int],
                  ortho: bool,
                  fov: float,
                  extent_mm: Union[float, str],
                  center: Union[str, Sequence[float]],
                  camera_distance_mm: Optional[float],
                  margin: float,
                  near_mm: float) -> Cameras:
    """Place the cameras of each mesh of a batch.

    The arguments are those of :class:`~mmfer4d.rendering.MultiViewRenderer`
    (checked there). The smaller image side spans ``2 * extent`` mm in the
    plane through the centre: ``s = min(H, W) / 2 / extent`` px per mm
    (orthographic, camera at ``2 * extent``) or ``f = min(H, W) / 2 /
    tan(fov / 2)`` px (perspective, camera at ``extent / tan(fov / 2)``),
    unless ``camera_distance_mm`` is given.

    Args:
        batch (MeshBatch): The checked meshes (``'bbox'`` centres and
            ``'auto'`` extents are per mesh).
        rotations (np.ndarray): ``(V, 3, 3)`` world-to-camera rotations.

    Returns:
        Cameras: For ``len(batch)`` meshes.

    Raises:
        ValueError: If a camera comes out non-finite or degenerate.
    """
    height, width = size
    half = min(height, width) / 2.0
    tan = math.tan(math.radians(fov) / 2.0)
    centers, scales, distances = [], [], []
    for mesh in batch.meshes:
        verts = mesh.vertices
        if isinstance(center, str):
            c = (np.zeros(3) if center == 'origin' else
                 (verts.min(0).astype(np.float64) + verts.max(0)) / 2)
        else:
            c = np.asarray(center, np.float64)
        if extent_mm == 'auto':
            radius = float(np.sqrt(((verts - c)**2).sum(1).max()))
            extent = max(radius, 1e-6) * (1.0 + margin)
        else:
            extent = float(extent_mm)
        if ortho:
            scale, dist = half / extent, 2.0 * extent
        else:
            scale, dist = half / tan, extent / tan
        if camera_distance_mm is not None:
            dist = float(camera_distance_mm)
        if not (0 < scale < math.inf and 0 < dist < math.inf):
            where = f' of {mesh.path}' if mesh.path else ''
            raise ValueError(f'degenerate cameras{where}: extent {extent} '
                             f'mm, distance {dist} mm')
        centers.append(c)
        scales.append(scale)
        distances.append(dist)
    return Cameras(
        rotations=np.asarray(rotations, np.float64),
        centers=np.asarray(centers, np.float64).reshape(-1, 3),
        scales=np.asarray(scales, np.float64),
        distances=np.asarray(distances, np.float64),
        size=tuple(size),
        ortho=bool(ortho),
        near_mm=float(near_mm))
