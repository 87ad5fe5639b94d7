# Copyright (c) mmfer4d contributors. All rights reserved.
from .mf2_head import MF2Head
from .multi_view_projection_head import MultiViewProjectionHead
from .smile_vlm_head import SMILEVLMHead

__all__ = ['MF2Head', 'MultiViewProjectionHead', 'SMILEVLMHead']
