# Copyright (c) mmfer4d contributors. All rights reserved.
from .face_model import (FACE_MODEL_ENV, FaceModel, boundary_loops,
                         face_model_candidates, load_face_model,
                         resolve_face_model_path)
from .facs import (AU_NAMES, AU_TO_BLENDSHAPES, BLENDSHAPE_NAMES,
                   EMFACS_PROTOTYPES, LEVEL_SCALE, MICRO_PROTOTYPES,
                   au_blendshape_matrices, aus_to_blendshapes,
                   sample_expression_aus, sample_subject_style)
from .synthesis import (frame_params, rotation_matrix, skin_texture,
                        synthesize, synthesize_sequence)
from .synthetic_fer3d import SyntheticFER3D
from .synthetic_fer4d import SyntheticFER4D
from .synthetic_mer4d import SyntheticMER4D

__all__ = [
    'FACE_MODEL_ENV', 'FaceModel', 'boundary_loops', 'face_model_candidates',
    'load_face_model', 'resolve_face_model_path', 'AU_NAMES',
    'AU_TO_BLENDSHAPES', 'BLENDSHAPE_NAMES', 'EMFACS_PROTOTYPES',
    'LEVEL_SCALE', 'MICRO_PROTOTYPES', 'au_blendshape_matrices',
    'aus_to_blendshapes', 'sample_expression_aus', 'sample_subject_style',
    'frame_params', 'rotation_matrix', 'skin_texture', 'synthesize',
    'synthesize_sequence', 'SyntheticFER3D', 'SyntheticFER4D',
    'SyntheticMER4D'
]
