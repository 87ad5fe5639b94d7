# Copyright (c) mmfer4d contributors. All rights reserved.
from .channels_last_hook import ChannelsLastHook
from .multiview_visualization_hook import MultiViewVisualizationHook
from .pseudo_label_hook import (PseudoLabelHook, PseudoLabelStore,
                                match_clusters_to_prompts)
from .skipped_sample_hook import SkippedSampleHook

__all__ = [
    'PseudoLabelHook', 'PseudoLabelStore', 'match_clusters_to_prompts',
    'MultiViewVisualizationHook', 'SkippedSampleHook', 'ChannelsLastHook'
]
