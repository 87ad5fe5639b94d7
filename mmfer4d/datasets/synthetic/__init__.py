# Copyright (c) mmfer4d contributors. All rights reserved.
"""The synthetic data sets. They only index seeded parameters; the engine
that turns them into meshes is :mod:`mmfer4d.synthesis`."""
import importlib
import warnings

from .synthetic_fer3d import SyntheticFER3D
from .synthetic_fer4d import SyntheticFER4D
from .synthetic_mer4d import SyntheticMER4D

__all__ = ['SyntheticFER3D', 'SyntheticFER4D', 'SyntheticMER4D']

#: Names that lived here before the engine moved to ``mmfer4d.synthesis``
#: (issue 14), and their new modules; still importable from here, with a
#: warning, for one release.
_MOVED = dict.fromkeys(
    ('FACE_MODEL_ENV', 'FaceModel', 'boundary_loops', 'load_face_model',
     'resolve_face_model_path', 'AU_NAMES', 'AU_TO_BLENDSHAPES',
     'BLENDSHAPE_NAMES', 'EMFACS_PROTOTYPES', 'LEVEL_SCALE',
     'MICRO_PROTOTYPES', 'au_blendshape_matrices', 'aus_to_blendshapes',
     'sample_expression_aus', 'sample_subject_style', 'frame_params',
     'skin_texture', 'synthesize', 'synthesize_sequence'),
    'mmfer4d.synthesis')
_MOVED['rotation_matrix'] = 'mmfer4d.structures'


def __getattr__(name: str):
    if name in _MOVED:
        warnings.warn(
            f'mmfer4d.datasets.synthetic.{name} moved to '
            f'{_MOVED[name]}.{name}; the old path goes in the next release',
            DeprecationWarning,
            stacklevel=2)
        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(
        f'module {__name__!r} has no attribute {name!r}')
