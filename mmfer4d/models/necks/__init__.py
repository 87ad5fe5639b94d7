# Copyright (c) mmfer4d contributors. All rights reserved.
from .au_region_neck import AURegionNeck
from .multi_view_neck import MultiViewNeck

__all__ = ['AURegionNeck', 'MultiViewNeck']
