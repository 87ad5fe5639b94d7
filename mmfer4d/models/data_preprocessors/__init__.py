# Copyright (c) mmfer4d contributors. All rights reserved.
from .multiview_data_preprocessor import (MODALITY_CHANNELS,
                                          MultiViewDataPreprocessor)

__all__ = ['MODALITY_CHANNELS', 'MultiViewDataPreprocessor']
