# Copyright (c) mmfer4d contributors. All rights reserved.
from .base_fer_dataset import BaseFERDataset
from .categories import EXPRESSIONS_6, EXPRESSIONS_7, MICRO_EXPRESSIONS_5
from .io import *  # noqa: F401,F403
from .protocols import fold_summary, subject_folds
from .synthetic import *  # noqa: F401,F403
from .transforms import *  # noqa: F401,F403

__all__ = [
    'BaseFERDataset', 'EXPRESSIONS_6', 'EXPRESSIONS_7', 'MICRO_EXPRESSIONS_5',
    'fold_summary', 'subject_folds'
]
