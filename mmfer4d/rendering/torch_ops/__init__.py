# Copyright (c) mmfer4d contributors. All rights reserved.
"""Vectorised torch passes of the ``torch`` rendering backend.

:mod:`.project` (vertex normals, projection to numba's fixed point),
:mod:`.rasterize` (bounding-box scatter into a packed z-buffer),
:mod:`.shade` (deferred shading of the covered pixels). Each works on a
group of meshes packed together and all its views at once, on any torch
device; :class:`~mmfer4d.rendering.backends.torch_backend.
TorchRenderBackend` drives them.
"""
from .project import camera_normals, project_vertices, vertex_normals
from .rasterize import ZBUF_EMPTY, depth_key_range, rasterize, unpack
from .shade import ShadeInputs, shade

__all__ = [
    'camera_normals', 'project_vertices', 'vertex_normals', 'ZBUF_EMPTY',
    'depth_key_range', 'rasterize', 'unpack', 'ShadeInputs', 'shade'
]
