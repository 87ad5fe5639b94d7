# Copyright (c) mmfer4d contributors. All rights reserved.
from .loops import CrossEpochLoader, PrefetchEpochBasedTrainLoop

__all__ = ['CrossEpochLoader', 'PrefetchEpochBasedTrainLoop']
