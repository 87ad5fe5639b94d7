# Copyright (c) mmfer4d contributors. All rights reserved.
"""The ``torch`` backend: B meshes x V views rasterised in one vectorised
pass on a torch device (CUDA when present, else CPU)."""
from typing import Optional, Union

import numpy as np
import torch

from ..mesh_batch import MeshBatch
from ..modalities import channel_offsets, num_channels
from ..projection import Cameras
from ..torch_ops import (ShadeInputs, camera_normals, depth_key_range,
                         project_vertices, rasterize, shade, vertex_normals)
from .base import (BaseRenderBackend, BatchRenderOutput, RenderSettings,
                   register_render_backend)


_CPU_CHUNKS = dict(
    max_group_pixels=1 << 23, max_triangles=1 << 18, max_candidates=1 << 20)


@register_render_backend('torch')
class TorchRenderBackend(BaseRenderBackend):
    """Batched z-buffer rasteriser in torch, with the numba backend's
    conventions (:mod:`mmfer4d.rendering.projection`,
    :mod:`mmfer4d.rendering.modalities`).

    The meshes of a call are taken packed (:meth:`MeshBatch.packed`) and
    drawn in groups of G meshes (as many as fit ``max_group_pixels``
    pixels over their V views), each group in three vectorised passes
    over all its views at once (:mod:`mmfer4d.rendering.torch_ops`):
    projection (float64, snapped to numba's 16-bit sub-pixel fixed point),
    visibility (a per-triangle bounding-box scatter with exact integer edge
    functions and the top-left rule into a packed int64 z-buffer,
    ``scatter_reduce`` ``amin`` on ``depth key << 32 | triangle``), then
    deferred shading of the covered pixels. Coverage is numba's, pixel for
    pixel; depth keys may differ by one unit (1e-7 mm on a face), so only
    surfaces that close can swap; 8-bit values may differ by one step where
    numba fuses multiply-adds (tested: ``tests/test_rendering/
    test_torch_backend.py``).

    Memory per group, beside the outputs (``B * V * H * W * (C + 4 + 4)``
    bytes for images, float depth and triangle ids when asked): the
    z-buffer, 8 bytes per pixel of the group's ``G * V * H * W``; the
    projected vertices, about 64 bytes per vertex and view (``V * N_g``);
    about 250 bytes per triangle set up (``max_triangles`` at a time),
    about 300 bytes per bounding-box pixel tested (``max_candidates``) and
    per pixel shaded (``max_candidates``). With the CPU defaults that is at
    most about 8 * 2**23 + 250 * 2**18 + 300 * 2**20 bytes = 450 MB plus
    the vertices, whatever the batch size; with the CUDA defaults (chunks
    16 times larger, so that a batch takes few kernel launches) about
    7 GB. By this count, 32 ICT faces
    (9.4k vertices) x 8 views at 224 px go in groups of 20 meshes and need
    about 0.55 GB beside 0.09 GB of images; ``benchmarks/render_torch.py``
    measures it.

    Args:
        device (str | torch.device, optional): Where to render. Defaults to
            None: ``'cuda'`` when available, else ``'cpu'``.
        return_tensors (bool): Return torch tensors on ``device`` (images
            ``(B, V, H, W, C)`` uint8, depth ``(B, V, H, W)`` float32, face
            ids ``(B, V, H, W)`` int32), for a data preprocessor; else
            numpy arrays, as the numba backend. Defaults to False.
        max_group_pixels (int, optional): Pixels (meshes x views x H x W)
            of one group, at least one mesh. Defaults to None: ``2**23`` on
            CPU, ``2**27`` on CUDA.
        max_triangles (int, optional): Triangles x views set up at a time.
            Defaults to None: ``2**18`` on CPU, ``2**22`` on CUDA.
        max_candidates (int, optional): Bounding-box pixels tested, and
            covered pixels shaded, at a time. Defaults to None: ``2**20``
            on CPU, ``2**24`` on CUDA.

    Raises:
        ValueError: If a chunk size is not a positive int.
    """

    max_image_side = 1 << 14

    def __init__(self,
                 device: Optional[Union[str, torch.device]] = None,
                 return_tensors: bool = False,
                 max_group_pixels: Optional[int] = None,
                 max_triangles: Optional[int] = None,
                 max_candidates: Optional[int] = None):
        super().__init__()
        self.device = device
        self.return_tensors = bool(return_tensors)
        self._chunks = {}
        for name, value in (('max_group_pixels', max_group_pixels),
                            ('max_triangles', max_triangles),
                            ('max_candidates', max_candidates)):
            if value is not None and (not isinstance(value, int)
                                      or isinstance(value, bool)
                                      or value < 1):
                raise ValueError(f'{name} must be a positive int, got '
                                 f'{value!r}')
            self._chunks[name] = value

    def _chunk(self, name: str) -> int:
        # Device-dependent defaults: larger chunks on CUDA mean fewer
        # launches; on CPU they would only cost memory.
        value = self._chunks[name]
        if value is None:
            shift = 4 if self.device.type == 'cuda' else 0
            value = _CPU_CHUNKS[name] << shift
        return value

    @property
    def max_group_pixels(self) -> int:
        return self._chunk('max_group_pixels')

    @property
    def max_triangles(self) -> int:
        return self._chunk('max_triangles')

    @property
    def max_candidates(self) -> int:
        return self._chunk('max_candidates')

    @property
    def device(self) -> torch.device:
        """The device rendered on (settable)."""
        return self._device

    @device.setter
    def device(self, device):
        if device is None:
            device = 'cuda' if torch.cuda.is_available() else 'cpu'
        self._device = torch.device(device)

    def group_size(self, num_views: int, height: int, width: int) -> int:
        """Meshes per group G."""
        return max(1, self.max_group_pixels // (num_views * height * width))

    def scratch_bytes_per_pixel(self, num_views, num_channels,
                                batch_size=1):
        # The z-buffer of one group (the chunked passes are bounded in
        # elements, not per pixel).
        return 8 * num_views * batch_size

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(device={str(self.device)!r}, '
                f'return_tensors={self.return_tensors})')

    def _tensor(self, array, dtype=None):
        t = torch.from_numpy(np.ascontiguousarray(array))
        return t.to(self.device, dtype) if dtype else t.to(self.device)

    def _group_inputs(self, packed, cameras, rotations, b0, b1, with_normals,
                      with_rgb):
        """Projected vertices and shading inputs of meshes ``b0:b1``."""
        voff, foff = packed.vertex_offsets, packed.face_offsets
        dev = self.device
        nvert = torch.as_tensor(np.diff(voff[b0:b1 + 1]), device=dev)
        nface = torch.as_tensor(np.diff(foff[b0:b1 + 1]), device=dev)
        count = b1 - b0
        verts = self._tensor(packed.vertices[voff[b0]:voff[b1]])
        faces = self._tensor(packed.faces[foff[b0]:foff[b1]] - voff[b0])
        mesh_ids = torch.arange(count, device=dev)
        vertex_mesh = mesh_ids.repeat_interleave(nvert)
        face_mesh = mesh_ids.repeat_interleave(nface)
        centers = self._tensor(cameras.centers[b0:b1], torch.float64)
        scales = self._tensor(cameras.scales[b0:b1], torch.float64)
        dists = self._tensor(cameras.distances[b0:b1], torch.float64)
        height, width = cameras.size
        xy, q = project_vertices(verts, vertex_mesh, rotations, centers,
                                 scales, dists, cameras.ortho,
                                 cameras.near_mm, width / 2.0, height / 2.0)
        q_lo, key_scale = depth_key_range(q, vertex_mesh, count)
        cam_n = None
        if with_normals:
            cam_n = camera_normals(vertex_normals(verts, faces), rotations)
        source = packed.color_source[b0:b1].astype(np.int64)
        if not with_rgb:
            source = np.zeros_like(source)
        vcol = None
        if (source == 1).any():
            vcol = self._tensor(packed.vertex_colors[voff[b0]:voff[b1]])
        tex_flat = tex_off = tex_w = tex_h = texel_uv = None
        if (source == 2).any():
            texs = [packed.textures[b] if source[b - b0] == 2 else None
                    for b in range(b0, b1)]
            sizes = np.array([t.size if t is not None else 0 for t in texs])
            tex_flat = self._tensor(
                np.concatenate([t.reshape(-1) for t in texs
                                if t is not None]))
            tex_off = self._tensor(np.concatenate([[0], np.cumsum(sizes)
                                                   ])[:-1].astype(np.int64))
            tex_w = self._tensor(
                np.array([t.shape[1] if t is not None else 1 for t in texs],
                         np.int64))
            tex_h = self._tensor(
                np.array([t.shape[0] if t is not None else 1 for t in texs],
                         np.int64))
            uv = self._tensor(packed.face_uvs[foff[b0]:foff[b1]],
                              torch.float64)
            fw = tex_w[face_mesh].double()[:, None]
            fh = tex_h[face_mesh].double()[:, None]
            # Texel centres at (k + 0.5) / size; v has its origin at the
            # bottom, texture row 0 is the top.
            texel_uv = torch.stack(
                [uv[..., 0] * fw - 0.5, (1.0 - uv[..., 1]) * fh - 0.5],
                -1).float()
        inputs = ShadeInputs(
            faces=faces, face_mesh=face_mesh, xy=xy, q=q, q_lo=q_lo,
            key_scale=key_scale, distances=dists, cam_normals=cam_n,
            texel_uv=texel_uv, tex_flat=tex_flat, tex_offset=tex_off,
            tex_width=tex_w, tex_height=tex_h, vertex_colors=vcol,
            color_source=self._tensor(source),
            face_start=torch.cumsum(nface, 0) - nface)
        return inputs

    def render(self,
               batch: MeshBatch,
               cameras: Cameras,
               settings: RenderSettings,
               return_depth: bool = False,
               return_face_index: bool = False) -> BatchRenderOutput:
        modalities = settings.modalities
        channels = channel_offsets(modalities)
        with_normals = 'normal' in modalities or 'shading' in modalities
        nb, nv = len(batch), cameras.num_views
        height, width = cameras.size
        npix = nv * height * width
        dev = self.device
        packed = batch.packed()
        rotations = self._tensor(cameras.rotations, torch.float64)
        images = torch.zeros((nb * npix, num_channels(modalities)),
                             dtype=torch.uint8, device=dev)
        depth = (torch.zeros(nb * npix, dtype=torch.float32, device=dev)
                 if return_depth else None)
        tids = (torch.full((nb * npix, ), -1, dtype=torch.int64, device=dev)
                if return_face_index else None)
        counts = []
        group = self.group_size(nv, height, width)
        for b0 in range(0, nb, group):
            b1 = min(b0 + group, nb)
            inp = self._group_inputs(packed, cameras, rotations, b0, b1,
                                     with_normals, 'rgb' in modalities)
            zbuf = rasterize(inp.faces, inp.face_mesh, inp.xy, inp.q,
                             inp.q_lo, inp.key_scale, b1 - b0, height,
                             width, self.max_triangles, self.max_candidates)
            rows = slice(b0 * npix, b1 * npix)
            counts.append(
                shade(zbuf, inp, nv, height, width, cameras.ortho,
                      settings.depth_range_mm, settings.light_dir,
                      settings.ambient, channels, images[rows],
                      None if depth is None else depth[rows],
                      None if tids is None else tids[rows],
                      self.max_candidates))
        coverage = (torch.cat(counts).view(nb, nv).cpu().numpy() /
                    float(height * width))
        images = images.view(nb, nv, height, width, -1)
        if depth is not None:
            depth = depth.view(nb, nv, height, width)
        if tids is not None:
            tids = tids.view(nb, nv, height, width).int()
        if not self.return_tensors:
            images = images.cpu().numpy()
            depth = None if depth is None else depth.cpu().numpy()
            tids = None if tids is None else tids.cpu().numpy()
        return BatchRenderOutput(
            images=images, depth=depth, face_index=tids, coverage=coverage)
