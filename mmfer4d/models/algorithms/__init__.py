# Copyright (c) mmfer4d contributors. All rights reserved.
from .base_multi_view_model import BaseMultiViewModel
from .mf2 import MF2
from .multi_view_classifier import MultiViewClassifier
from .smile_vlm import SMILEVLM

__all__ = ['MF2', 'BaseMultiViewModel', 'MultiViewClassifier', 'SMILEVLM']
