# Copyright (c) mmfer4d contributors. All rights reserved.
from .autocast_optim_wrapper import AutocastOptimWrapper, native_bfloat16
from .summarized_optim_wrapper_constructor import \
    SummarizedOptimWrapperConstructor

__all__ = [
    'AutocastOptimWrapper', 'SummarizedOptimWrapperConstructor',
    'native_bfloat16'
]
