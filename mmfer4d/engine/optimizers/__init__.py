# Copyright (c) mmfer4d contributors. All rights reserved.
from .summarized_optim_wrapper_constructor import \
    SummarizedOptimWrapperConstructor

__all__ = ['SummarizedOptimWrapperConstructor']
