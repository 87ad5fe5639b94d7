# Copyright (c) mmfer4d contributors. All rights reserved.
"""The one kernel called from Python: all passes for all views of a mesh.

numba's cache is keyed on the source of the file of the cached function
only, while :func:`render_kernel`'s machine code includes the passes it
calls from :mod:`.common`, :mod:`.rasterize` and :mod:`.shade`. So this file
pins the digest of those files (:data:`CALLEE_SOURCE_DIGEST`): editing a
pass changes the digest, a test fails until the new value is written here,
and writing it changes this file, which invalidates the cached kernel
(numba issue #1833). :func:`callee_source_digest` gives the current value.
"""
import hashlib
import os.path as osp
import warnings

import numpy as np
from numba import njit

from .common import _JIT, ZBUF_EMPTY, texel_coordinates, vertex_normals
from .rasterize import project_view, rasterize_view
from .shade import shade_view

#: Digest of :data:`CALLEE_FILES`; update it when one of them changes.
CALLEE_SOURCE_DIGEST = 'bd4b6b3ed828acbb'
#: The files whose jitted functions :func:`render_kernel` calls.
CALLEE_FILES = ('common.py', 'rasterize.py', 'shade.py')


def callee_source_digest() -> str:
    """SHA-256 (first 16 hex digits) of :data:`CALLEE_FILES`' sources."""
    digest = hashlib.sha256()
    here = osp.dirname(osp.abspath(__file__))
    for name in CALLEE_FILES:
        with open(osp.join(here, name), 'rb') as f:
            digest.update(f.read().replace(b'\r\n', b'\n'))
    return digest.hexdigest()[:16]


if callee_source_digest() != CALLEE_SOURCE_DIGEST:
    warnings.warn(
        'mmfer4d.rendering.kernels: a pass changed since entry.py pinned '
        'its source digest, so a cached render_kernel may run the old code; '
        f'set CALLEE_SOURCE_DIGEST = {callee_source_digest()!r} in '
        f'{osp.abspath(__file__)}')


@njit(**_JIT)
def render_kernel(vertices, faces, face_uvs, texture, vertex_colors,
                  rotations, params, channels, normals, xy, qs, cam_normals,
                  uv_tex, face_sign, zbuf, tview, bary, tids, depth_mm, out,
                  counts):
    """All passes for all views; the one entry point called from Python.

    Args:
        vertices, faces, face_uvs, texture, vertex_colors: the mesh (see
            :func:`shade_view` for the empty forms of absent inputs).
        rotations (np.ndarray): ``(V, 3, 3)`` float64 world-to-camera.
        params (np.ndarray): ``(NUM_PARAMS,)`` float64.
        channels (np.ndarray): ``(NUM_CHANNEL_SLOTS,)`` int64.
        normals (np.ndarray): ``(N, 3)`` float32 scratch, or ``(0, 3)``
            when neither normals nor shading are rendered.
        xy, qs, cam_normals: ``(N, 2)`` int32, ``(N,)`` float32, ``(N, 3)``
            / ``(0, 3)`` float32 per-view scratch (see
            :func:`project_view`).
        uv_tex (np.ndarray): ``(F, 3, 2)`` float32 scratch, or ``(0, 3, 2)``
            without texture.
        face_sign (np.ndarray): ``(F,)`` float32 scratch.
        zbuf, tview, bary: ``(H * W + 1,)`` int32, ``(H * W + 1,)`` int32
            and ``(2 * (H * W + 1),)`` float32 per-view scratch (see
            :func:`rasterize_view`).
        tids (np.ndarray): ``(V, H, W)`` int32, written: visible triangle
            per pixel, -1 for background; or ``(0, H, W)`` when not wanted.
        depth_mm (np.ndarray): ``(V, H, W)`` float32, written; or ``(0, H,
            W)`` when not wanted.
        out (np.ndarray): ``(V, H, W, C)`` uint8, zero-filled by the caller.
        counts (np.ndarray): ``(V,)`` int64, written: foreground pixels of
            each view.
    """
    height = out.shape[1]
    width = out.shape[2]
    npix = height * width
    no_tids = np.empty(0, np.int32)
    no_depth = np.empty(0, np.float32)
    if normals.shape[0] > 0:
        vertex_normals(vertices, faces, normals)
    if uv_tex.shape[0] > 0:
        texel_coordinates(face_uvs, texture.shape[0], texture.shape[1],
                          uv_tex)
    for v in range(rotations.shape[0]):
        project_view(vertices, normals, rotations[v], params, xy, qs,
                     cam_normals)
        zbuf[:] = ZBUF_EMPTY
        tview[:] = -1
        q_lo, key_scale = rasterize_view(faces, xy, qs, height, width, zbuf,
                                         tview, bary, face_sign)
        tv = tids[v].reshape(npix) if tids.shape[0] > 0 else no_tids
        dv = depth_mm[v].reshape(npix) if depth_mm.shape[0] > 0 else no_depth
        counts[v] = shade_view(faces, qs, cam_normals, face_sign, uv_tex,
                               texture, vertex_colors, params, channels, zbuf,
                               q_lo, key_scale, tview, bary, tv, dv, out[v])


KERNELS = (vertex_normals, texel_coordinates, project_view, rasterize_view,
           shade_view, render_kernel)


def kernel_cache_stats() -> dict:
    """What numba did for the entry kernel in this process.

    Returns:
        dict: ``signatures`` (number of compiled or loaded signatures),
        ``cache_hits`` and ``cache_misses`` (loads from / misses of the
        on-disk cache; a miss means a compile), and ``cache_path`` (the
        ``__pycache__`` folder, or None when caching is unavailable).
    """
    stats = render_kernel.stats
    return dict(
        signatures=len(render_kernel.signatures),
        cache_hits=int(sum(stats.cache_hits.values())),
        cache_misses=int(sum(stats.cache_misses.values())),
        cache_path=stats.cache_path)
