# Copyright (c) mmfer4d contributors. All rights reserved.
"""Multi-view rendering of face meshes.

Importing this package does not import numba: the numba kernels
(:mod:`.kernels`, the ``'numba'`` backend) load when a renderer first
builds that backend, or when :func:`kernel_cache_stats` /
:class:`NumbaRenderBackend` are first accessed. So models and
visualisation can use :data:`MODALITY_CHANNELS` on a machine that never
renders.
"""
import importlib

from .backends import (RENDER_BACKENDS, BaseRenderBackend, BatchRenderOutput,
                       RenderSettings, build_render_backend,
                       register_render_backend)
from .cameras import NAMED_VIEWS, resolve_views, view_rotations
from .mesh_batch import (MeshBatch, PackedMeshes, PaddedMeshes, RenderMesh,
                         check_mesh)
from .modalities import (BACKGROUND_VALUE, MODALITIES, MODALITY_CHANNELS,
                         channel_offsets, check_modalities, num_channels)
from .multiview_renderer import MultiViewRenderer, render_multiview
from .projection import Cameras, frame_cameras, point_visibility
from .render_cache import RenderCache
from .render_output import RenderOutput


# Names whose modules import numba, loaded on first access.
_LAZY = {
    'kernel_cache_stats': '.kernels',
    'NumbaRenderBackend': '.backends',
    'TorchRenderBackend': '.backends'
}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


__all__ = [
    'RENDER_BACKENDS', 'BaseRenderBackend', 'BatchRenderOutput',
    'RenderSettings', 'build_render_backend', 'register_render_backend',
    'NumbaRenderBackend', 'TorchRenderBackend', 'NAMED_VIEWS',
    'resolve_views', 'view_rotations',
    'MeshBatch', 'PackedMeshes', 'PaddedMeshes', 'RenderMesh', 'check_mesh',
    'BACKGROUND_VALUE', 'MODALITIES', 'MODALITY_CHANNELS', 'channel_offsets',
    'check_modalities', 'num_channels', 'MultiViewRenderer', 'RenderOutput',
    'render_multiview', 'Cameras', 'frame_cameras', 'point_visibility',
    'RenderCache', 'kernel_cache_stats'
]
