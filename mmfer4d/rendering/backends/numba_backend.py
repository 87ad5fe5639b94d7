# Copyright (c) mmfer4d contributors. All rights reserved.
"""The ``numba`` backend: the CPU z-buffer kernels, one mesh at a time."""
import numpy as np

from .. import kernels as K
from ..mesh_batch import MeshBatch
from ..modalities import MODALITY_CHANNELS, channel_offsets
from ..projection import Cameras
from .base import (BaseRenderBackend, BatchRenderOutput, RenderSettings,
                   register_render_backend)

_SLOT = {
    'depth': K.C_DEPTH,
    'normal': K.C_NORMAL,
    'rgb': K.C_RGB,
    'shading': K.C_SHADING,
    'mask': K.C_MASK
}
assert set(_SLOT) == set(MODALITY_CHANNELS)

# Absent inputs are passed as empty arrays (one compiled signature).
_EMPTY_UVS = np.zeros((0, 3, 2), np.float32)
_EMPTY_TEX = np.zeros((0, 0, 3), np.uint8)
_EMPTY_COLORS = np.zeros((0, 3), np.uint8)
_EMPTY_NORMALS = np.zeros((0, 3), np.float32)


@register_render_backend('numba')
class NumbaRenderBackend(BaseRenderBackend):
    """Single-threaded numba rasteriser (:mod:`mmfer4d.rendering.kernels`).

    Renders the meshes of a batch one after the other, each with one
    kernel call for all its views; scratch buffers are kept and reused
    between calls (one backend per renderer, one renderer per DataLoader
    worker). Images are bit-identical from call to call and process to
    process on one machine (fused multiply-adds depend on the CPU).

    Positions are snapped to 1/65536 px and clamped to +-2**14 px, so an
    image side is at most :attr:`max_image_side` = 16384 px.
    """

    max_image_side = 1 << 14

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._scratch = {}

    def scratch_bytes_per_pixel(self, num_views, num_channels,
                                batch_size=1):
        # z-buffer (int32), triangle ids (int32), two weights (float32).
        return 16

    def _buffer(self, name, shape, dtype):
        buf = self._scratch.get(name)
        if buf is None or buf.shape != shape:
            buf = np.empty(shape, dtype)
            self._scratch[name] = buf
        return buf

    @staticmethod
    def _channels(modalities):
        channels = np.full(K.NUM_CHANNEL_SLOTS, -1, np.int64)
        for m, offset in channel_offsets(modalities).items():
            channels[_SLOT[m]] = offset
        return channels

    @staticmethod
    def _params(cameras: Cameras, index: int,
                settings: RenderSettings) -> np.ndarray:
        height, width = cameras.size
        p = np.zeros(K.NUM_PARAMS)
        p[K.P_ORTHO] = 1.0 if cameras.ortho else 0.0
        p[K.P_SCALE] = cameras.scales[index]
        p[K.P_CX] = width / 2.0
        p[K.P_CY] = height / 2.0
        p[K.P_CAM_DIST] = cameras.distances[index]
        p[K.P_NEAR] = cameras.near_mm
        p[K.P_DEPTH_RANGE] = (-1.0 if settings.depth_range_mm is None else
                              float(settings.depth_range_mm))
        p[K.P_LIGHT_X:K.P_LIGHT_Z + 1] = settings.light_dir
        p[K.P_AMBIENT] = settings.ambient
        p[K.P_CENTER_X:K.P_CENTER_Z + 1] = cameras.centers[index]
        return p

    def render(self,
               batch: MeshBatch,
               cameras: Cameras,
               settings: RenderSettings,
               return_depth: bool = False,
               return_face_index: bool = False) -> BatchRenderOutput:
        modalities = settings.modalities
        channels = self._channels(modalities)
        need_normals = 'normal' in modalities or 'shading' in modalities
        nb, nv = len(batch), cameras.num_views
        height, width = cameras.size
        nchan = sum(MODALITY_CHANNELS[m] for m in modalities)
        npix = height * width + 1  # row-major pixels, then a spare slot
        zbuf = self._buffer('zbuf', (npix, ), np.int32)
        tview = self._buffer('tview', (npix, ), np.int32)
        bary = self._buffer('bary', (2 * npix, ), np.float32)
        out = np.zeros((nb, nv, height, width, nchan), np.uint8)
        # Unwanted per-pixel outputs are passed empty (the kernel skips
        # them).
        tids = np.empty((nb, nv, height, width) if return_face_index else
                        (nb, 0, height, width), np.int32)
        depth = np.empty((nb, nv, height, width) if return_depth else
                         (nb, 0, height, width), np.float32)
        counts = np.zeros((nb, nv), np.int64)
        for b, mesh in enumerate(batch.meshes):
            nvert, nface = mesh.vertices.shape[0], mesh.faces.shape[0]
            face_uvs, texture = _EMPTY_UVS, _EMPTY_TEX
            colors = _EMPTY_COLORS
            if 'rgb' in modalities:
                if mesh.texture is not None:
                    face_uvs, texture = mesh.face_uvs, mesh.texture
                elif mesh.vertex_colors is not None:
                    colors = mesh.vertex_colors
            xy = self._buffer('xy', (nvert, 2), np.int32)
            qs = self._buffer('qs', (nvert, ), np.float32)
            if need_normals:
                normals = self._buffer('normals', (nvert, 3), np.float32)
                cam_normals = self._buffer('cam_normals', (nvert, 3),
                                           np.float32)
            else:
                normals = cam_normals = _EMPTY_NORMALS
            uv_tex = (self._buffer('uv_tex', (nface, 3, 2), np.float32)
                      if face_uvs.shape[0] > 0 else _EMPTY_UVS)
            face_sign = self._buffer('face_sign', (nface, ), np.float32)
            K.render_kernel(mesh.vertices, mesh.faces, face_uvs, texture,
                            colors, cameras.rotations,
                            self._params(cameras, b, settings), channels,
                            normals, xy, qs, cam_normals, uv_tex, face_sign,
                            zbuf, tview, bary, tids[b], depth[b], out[b],
                            counts[b])
        return BatchRenderOutput(
            images=out,
            depth=depth if return_depth else None,
            face_index=tids if return_face_index else None,
            coverage=counts / float(height * width))
