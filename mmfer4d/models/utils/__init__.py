# Copyright (c) mmfer4d contributors. All rights reserved.
from .au_regions import (AU_REGIONS, REGION_NAMES, aus_of_region,
                         landmark_region_boxes, region_box_layout,
                         regions_of_au)
from .build import build_model_from_cfg, model_cfg_with_preprocessor
from .distributed import (all_gather_cat, all_reduce_with_grad, get_world_size)
from .precision import at_least_float32
from .pretrained import load_pretrained, summarize_keys

__all__ = [
    'AU_REGIONS', 'REGION_NAMES', 'aus_of_region', 'landmark_region_boxes',
    'region_box_layout', 'regions_of_au',
    'all_gather_cat', 'all_reduce_with_grad', 'get_world_size',
    'at_least_float32',
    'build_model_from_cfg', 'model_cfg_with_preprocessor', 'load_pretrained',
    'summarize_keys'
]
