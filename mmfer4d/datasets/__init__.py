# Copyright (c) mmfer4d contributors. All rights reserved.
from .base_fer_dataset import BaseFERDataset
from .bosphorus import BosphorusDataset
from .bp4d import (BP4D_AU_NAMES, BP4D_EMOTIONS, BP4D_TASKS, BP4DDataset,
                   read_au_occurrence)
from .bu3dfe import BU3DFEDataset
from .bu4dfe import BU4DFEDataset
from .categories import EXPRESSIONS_6, EXPRESSIONS_7, MICRO_EXPRESSIONS_5
from .face_image_au import (DISFA_AU_NAMES, FaceImageAUDataset,
                            read_disfa_au, read_pts)
from .fourdme import FourDMEDataset
from .io import *  # noqa: F401,F403
from .protocols import draw_subjects, fold_summary, subject_folds
from .skipped_sample import SkippedSample, skip_broken_collate
from .synthetic import *  # noqa: F401,F403
from .transforms import *  # noqa: F401,F403

__all__ = [
    'BaseFERDataset', 'EXPRESSIONS_6', 'EXPRESSIONS_7', 'MICRO_EXPRESSIONS_5',
    'fold_summary', 'subject_folds', 'BU3DFEDataset', 'BU4DFEDataset',
    'BosphorusDataset', 'BP4DDataset', 'FourDMEDataset', 'BP4D_TASKS',
    'BP4D_EMOTIONS', 'BP4D_AU_NAMES', 'draw_subjects', 'SkippedSample',
    'skip_broken_collate', 'read_au_occurrence', 'FaceImageAUDataset',
    'DISFA_AU_NAMES', 'read_disfa_au', 'read_pts'
]
