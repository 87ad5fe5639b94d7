# Copyright (c) mmfer4d contributors. All rights reserved.
"""Rendering backends behind :class:`~mmfer4d.rendering.MultiViewRenderer`.

A new backend goes in its own file here (``<name>_backend.py``): subclass
:class:`BaseRenderBackend`, decorate it with
``@register_render_backend('<name>')``, and add it to the lazily imported
built-ins in :mod:`.base` (or import it before building a renderer).
"""
from .base import (RENDER_BACKENDS, BaseRenderBackend, BatchRenderOutput,
                   RenderSettings, build_render_backend,
                   register_render_backend)


def __getattr__(name):
    # The numba backend imports numba, the torch one torch: only when asked
    # for.
    if name == 'NumbaRenderBackend':
        from .numba_backend import NumbaRenderBackend
        return NumbaRenderBackend
    if name == 'TorchRenderBackend':
        from .torch_backend import TorchRenderBackend
        return TorchRenderBackend
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


__all__ = [
    'RENDER_BACKENDS', 'BaseRenderBackend', 'BatchRenderOutput',
    'RenderSettings', 'build_render_backend', 'register_render_backend',
    'NumbaRenderBackend', 'TorchRenderBackend'
]
