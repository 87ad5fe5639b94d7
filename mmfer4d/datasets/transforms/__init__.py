# Copyright (c) mmfer4d contributors. All rights reserved.
from .augmentation import RandomMeshAugment, RandomMeshWarp
from .face_image import LoadFaceImageAU
from .formatting import PackMeshInputs, PackMultiViewInputs, stack_views
from .loading import LoadMeshFromFile, LoadMeshSequence
from .mesh_flip import LANDMARK_FLIP_INDEX, RandomMeshFlip
from .motion_magnification import MagnifyMeshMotion
from .normalization import NormalizeFace
from .render import RenderMultiView
from .sampling import SampleFrames
from .synthesize import SynthesizeFaceMesh, SynthesizeFaceSequence
from .wrappers import MultiViewImageTransform

__all__ = [
    'LoadFaceImageAU',
    'LoadMeshFromFile', 'LoadMeshSequence', 'NormalizeFace',
    'RandomMeshAugment', 'RandomMeshFlip', 'RandomMeshWarp',
    'LANDMARK_FLIP_INDEX', 'MagnifyMeshMotion',
    'MultiViewImageTransform', 'SampleFrames',
    'PackMeshInputs', 'PackMultiViewInputs', 'stack_views',
    'SynthesizeFaceMesh', 'SynthesizeFaceSequence', 'RenderMultiView'
]
