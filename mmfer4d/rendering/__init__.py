# Copyright (c) mmfer4d contributors. All rights reserved.
from .cameras import NAMED_VIEWS, resolve_views, view_rotations
from .kernels import kernel_cache_stats
from .multiview_renderer import (MODALITY_CHANNELS, MultiViewRenderer,
                                 RenderOutput, render_multiview)
from .render_cache import RenderCache

__all__ = [
    'NAMED_VIEWS', 'resolve_views', 'view_rotations', 'kernel_cache_stats',
    'MODALITY_CHANNELS', 'MultiViewRenderer', 'RenderOutput',
    'render_multiview', 'RenderCache'
]
