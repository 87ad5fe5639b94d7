# Copyright (c) mmfer4d contributors. All rights reserved.
"""What :meth:`~mmfer4d.rendering.MultiViewRenderer.render` returns."""
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np


@dataclass
class RenderOutput:
    """What :meth:`MultiViewRenderer.render` returns for one mesh.

    Attributes:
        images (np.ndarray): ``(V, H, W, C)`` uint8, the modalities' channels
            concatenated in the renderer's order (see
            :data:`~mmfer4d.rendering.modalities.MODALITY_CHANNELS`);
            background 0.
        depth (np.ndarray, optional): ``(V, H, W)`` float32 depth in mm along
            the viewing axis, from the camera plane (orthographic) or the
            camera centre (perspective); background 0. Only when asked.
        face_index (np.ndarray, optional): ``(V, H, W)`` int32 visible
            triangle per pixel, -1 for background. Only when asked.
        view_angles (np.ndarray): ``(V, 3)`` yaw, pitch, roll in degrees.
        modalities (tuple[str]): The rendered modalities, in channel order.
        coverage (np.ndarray, optional): ``(V,)`` fraction of each view's
            pixels the mesh covers.
        landmarks_2d (np.ndarray, optional): ``(V, L, 2)`` float32 pixel
            coordinates ``(x, y)`` of the mesh's landmarks in each view (x
            right, y down, pixel ``(i, j)`` spans ``[j, j + 1) x [i, i +
            1)``; conventions in :mod:`mmfer4d.rendering.projection`); NaN
            behind a perspective near plane. When the mesh has landmarks.
        landmarks_visible (np.ndarray, optional): ``(V, L)`` bool: in front
            of the camera, inside the image and not occluded (see
            :func:`~mmfer4d.rendering.projection.point_visibility`).
    """

    images: np.ndarray
    depth: Optional[np.ndarray]
    face_index: Optional[np.ndarray]
    view_angles: np.ndarray
    modalities: Tuple[str, ...]
    coverage: Optional[np.ndarray] = None
    landmarks_2d: Optional[np.ndarray] = None
    landmarks_visible: Optional[np.ndarray] = None

    @property
    def mask(self) -> np.ndarray:
        """``(V, H, W)`` bool foreground, from ``face_index`` or ``depth``."""
        if self.face_index is not None:
            return self.face_index >= 0
        if self.depth is not None:
            return self.depth != 0
        raise ValueError('render with return_depth=True or '
                         'return_face_index=True to get a mask')
