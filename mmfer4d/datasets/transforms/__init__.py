# Copyright (c) mmfer4d contributors. All rights reserved.
from .augmentation import (LANDMARK_FLIP_INDEX, RandomMeshAugment,
                           RandomMeshFlip, RandomMeshWarp)
from .formatting import PackMultiViewInputs, stack_views
from .loading import LoadMeshFromFile, LoadMeshSequence
from .normalization import NormalizeFace
from .render import RenderMultiView
from .sampling import SampleFrames
from .synthesize import SynthesizeFaceMesh, SynthesizeFaceSequence
from .wrappers import MultiViewImageTransform

__all__ = [
    'LoadMeshFromFile', 'LoadMeshSequence', 'NormalizeFace',
    'RandomMeshAugment', 'RandomMeshFlip', 'RandomMeshWarp',
    'LANDMARK_FLIP_INDEX',
    'MultiViewImageTransform', 'SampleFrames',
    'PackMultiViewInputs', 'stack_views',
    'SynthesizeFaceMesh', 'SynthesizeFaceSequence', 'RenderMultiView'
]
