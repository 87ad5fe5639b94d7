# Copyright (c) mmfer4d contributors. All rights reserved.
from .multiview_data_preprocessor import (MODALITY_CHANNELS,
                                          MultiViewDataPreprocessor)
from .rendering_data_preprocessor import RenderingDataPreprocessor

__all__ = [
    'MODALITY_CHANNELS', 'MultiViewDataPreprocessor',
    'RenderingDataPreprocessor'
]
