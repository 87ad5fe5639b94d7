# Copyright (c) mmfer4d contributors. All rights reserved.
"""The synthesis engine of the synthetic data sets: the ICT-FaceKit face
model, FACS / EMFACS recipes, parameter sampling, and shape and texture
synthesis. Data sets (:mod:`mmfer4d.datasets.synthetic`) only index the
parameters; the ``SynthesizeFaceMesh`` transform calls :func:`synthesize`."""
from .face_model import (FACE_MODEL_ENV, PACKAGED_FACE_MODEL, FaceModel,
                         boundary_loops, load_face_model,
                         resolve_face_model_path)
from .facs import (AU_NAMES, AU_TO_BLENDSHAPES, BLENDSHAPE_NAMES,
                   EMFACS_PROTOTYPES, LEVEL_SCALE, MICRO_PROTOTYPES,
                   au_blendshape_matrices, aus_to_blendshapes,
                   sample_expression_aus, sample_subject_style)
from .sampling import (au_annotation, make_rng, sample_subject,
                       scan_params, sequence_params, subject_names,
                       temporal_envelope)
from .shape import (frame_params, identity_shape, synthesize,
                    synthesize_sequence)
from .texture import skin_texture

__all__ = [
    'FACE_MODEL_ENV', 'PACKAGED_FACE_MODEL', 'FaceModel', 'boundary_loops',
    'load_face_model', 'resolve_face_model_path', 'AU_NAMES',
    'AU_TO_BLENDSHAPES', 'BLENDSHAPE_NAMES', 'EMFACS_PROTOTYPES',
    'LEVEL_SCALE', 'MICRO_PROTOTYPES', 'au_blendshape_matrices',
    'aus_to_blendshapes', 'sample_expression_aus', 'sample_subject_style',
    'au_annotation', 'make_rng', 'sample_subject', 'scan_params',
    'sequence_params', 'subject_names', 'temporal_envelope', 'frame_params',
    'identity_shape', 'skin_texture', 'synthesize',
    'synthesize_sequence'
]
