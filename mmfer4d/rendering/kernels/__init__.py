# Copyright (c) mmfer4d contributors. All rights reserved.
"""Numba kernels of the multi-view z-buffer rasteriser (the ``numba``
backend).

All single-threaded (a DataLoader worker is the unit of parallelism). The
views are rendered one after the other, each in three passes over buffers
that belong to that view only, so that a view's working set (about 0.6 MB
for 9k vertices at 224 x 224) stays in the L2 cache: projection and
visibility (:mod:`.rasterize`), then deferred shading (:mod:`.shade`); the
parameter layout and the per-call mesh preparation (vertex normals, texel
coordinates) are in :mod:`.common`, the entry point :func:`render_kernel`
in :mod:`.entry`.

Pixel ``(row i, column j)`` samples the continuous image point
``(j + 0.5, i + 0.5)`` (x right, y down); a triangle covers a pixel when
that centre is inside it (or on a top / left edge).

The signatures are kept fixed (C-contiguous arrays of fixed dtypes, absent
inputs passed as empty arrays, flags as ints, parameters in one float64
array) so that ``cache=True`` compiles each kernel once per checkout and
every later process, including DataLoader workers, loads it from
``__pycache__``. :func:`kernel_cache_stats` reports what happened. The
kernels use numpy's error model (no ``ZeroDivisionError`` branch in the
hot loops; every division is guarded where it matters) and numba's default
``boundscheck=False``: they index only what the caller
(:class:`~mmfer4d.rendering.backends.NumbaRenderBackend` after the checks
of :class:`~mmfer4d.rendering.MultiViewRenderer`) has proven in range, and
clamp texel positions NaN-safely as a second line.
"""
from .common import (C_DEPTH, C_MASK, C_NORMAL, C_RGB, C_SHADING,
                     NUM_CHANNEL_SLOTS, NUM_PARAMS, P_AMBIENT, P_CAM_DIST,
                     P_CENTER_X, P_CENTER_Y, P_CENTER_Z, P_CX, P_CY,
                     P_DEPTH_RANGE, P_LIGHT_X, P_LIGHT_Y, P_LIGHT_Z, P_NEAR,
                     P_ORTHO, P_SCALE, SUBPIXEL_BITS, ZBUF_EMPTY,
                     texel_coordinates, vertex_normals)
from .entry import (CALLEE_SOURCE_DIGEST, KERNELS, callee_source_digest,
                    kernel_cache_stats, render_kernel)
from .rasterize import project_view, rasterize_view
from .shade import shade_view

__all__ = [
    'C_DEPTH', 'C_MASK', 'C_NORMAL', 'C_RGB', 'C_SHADING',
    'NUM_CHANNEL_SLOTS', 'NUM_PARAMS', 'P_AMBIENT', 'P_CAM_DIST',
    'P_CENTER_X', 'P_CENTER_Y', 'P_CENTER_Z', 'P_CX', 'P_CY',
    'P_DEPTH_RANGE', 'P_LIGHT_X', 'P_LIGHT_Y', 'P_LIGHT_Z', 'P_NEAR',
    'P_ORTHO', 'P_SCALE', 'SUBPIXEL_BITS', 'ZBUF_EMPTY', 'texel_coordinates',
    'vertex_normals', 'CALLEE_SOURCE_DIGEST', 'KERNELS',
    'callee_source_digest', 'kernel_cache_stats', 'render_kernel',
    'project_view', 'rasterize_view', 'shade_view'
]
