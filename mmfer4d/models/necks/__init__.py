# Copyright (c) mmfer4d contributors. All rights reserved.
from .multi_view_neck import MultiViewNeck

__all__ = ['MultiViewNeck']
