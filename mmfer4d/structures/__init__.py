# Copyright (c) mmfer4d contributors. All rights reserved.
from .geometry import (NOSE_REGION_INDICES, NOSE_TIP_INDEX, crop_mesh_sphere,
                       estimate_nose_tip, kabsch_rotation, rotation_matrix)
from .mesh import Mesh

__all__ = [
    'Mesh', 'rotation_matrix', 'kabsch_rotation', 'crop_mesh_sphere',
    'estimate_nose_tip', 'NOSE_TIP_INDEX', 'NOSE_REGION_INDICES'
]
