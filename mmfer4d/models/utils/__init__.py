# Copyright (c) mmfer4d contributors. All rights reserved.
from .build import build_model_from_cfg, model_cfg_with_preprocessor
from .distributed import (all_gather_cat, all_reduce_with_grad, get_world_size)
from .pretrained import load_pretrained, summarize_keys

__all__ = [
    'all_gather_cat', 'all_reduce_with_grad', 'get_world_size',
    'build_model_from_cfg', 'model_cfg_with_preprocessor', 'load_pretrained',
    'summarize_keys'
]
