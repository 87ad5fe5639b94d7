# Copyright (c) mmfer4d contributors. All rights reserved.
from .multi_view_projection_head import MultiViewProjectionHead

__all__ = ['MultiViewProjectionHead']
