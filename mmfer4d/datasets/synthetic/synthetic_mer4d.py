# Copyright (c) mmfer4d contributors. All rights reserved.
"""SyntheticMER4D: 4DME-like micro-expression sequences."""
from typing import List, Optional, Sequence, Tuple

from mmfer4d.registry import DATASETS
from mmfer4d.synthesis import AU_NAMES, MICRO_PROTOTYPES
from ..categories import MICRO_EXPRESSIONS_5
from .synthetic_fer4d import SyntheticFER4D

#: Micro-expression phases as fractions of a 40-frame clip at 60 fps (4DME
#: records 4D at 60 fps): a rise of 50-100 ms and an onset-to-offset
#: duration of about 130-300 ms, under the 500 ms bound of a micro-expression
#: (Yan et al., "How fast are the leaked facial expressions", J. Nonverbal
#: Behav. 2013).
MICRO_TIMING = dict(
    onset=(0.1, 0.25), rise=(0.08, 0.15), hold=(0.0, 0.05),
    fall=(0.12, 0.25))


@DATASETS.register_module()
class SyntheticMER4D(SyntheticFER4D):
    """4DME-like micro-expression sequences, made on the fly.

    Five classes of 4DME (Li et al., IEEE TAC 2022): positive, negative,
    surprise, repression, others, each drawn from the AU patterns of
    :data:`~mmfer4d.synthesis.facs.MICRO_PROTOTYPES` (CASME II style). The
    apex is weak: its AU intensities are the prototype's times
    U(``apex_scale``), about FACS A-B, and the movement is short (see
    :data:`MICRO_TIMING`), with very slight head motion. ``intensity`` is
    1 (low) for every sample; ``au_intensities``/``au_labels`` describe the
    apex.

    Args:
        classes (Sequence[str], optional): Subset of
            ``MICRO_EXPRESSIONS_5``. Defaults to all five.
        num_subjects (int): Subjects (``S01``...). Defaults to 40 (4DME has
            41).
        samples_per_class (int): Sequences per subject and class. Defaults
            to 2.
        num_frames (int): Frames per sequence. Defaults to 40.
        apex_scale (tuple[float]): Range of the apex share of the full
            intensity. Defaults to (0.15, 0.35).
        motion (tuple[float]): Head-motion amplitude range, degrees.
            Defaults to (0.1, 0.5).
        noise_range (tuple[float]): Noise std range, mm. Defaults to
            (0.05, 0.15).
        extra_au_prob (float): Chance of an extra AU. Defaults to 0.0
            (micro-expressions are sparse).
        num_folds (int | str): Defaults to ``'loso'``, the MER protocol.
        **kwargs: See :class:`SyntheticFER4D`.
    """

    METAINFO = dict(classes=MICRO_EXPRESSIONS_5, au_names=AU_NAMES)
    PROTOTYPES = MICRO_PROTOTYPES
    VALID_CLASSES = MICRO_EXPRESSIONS_5
    TIMING = MICRO_TIMING
    LEVELS = (1, )
    SUBJECT_DIGITS = 2

    def __init__(self,
                 classes: Optional[Sequence[str]] = None,
                 num_subjects: int = 40,
                 samples_per_class: int = 2,
                 num_frames: int = 40,
                 apex_scale: Tuple[float, float] = (0.15, 0.35),
                 motion: Tuple[float, float] = (0.1, 0.5),
                 noise_range: Tuple[float, float] = (0.05, 0.15),
                 extra_au_prob: float = 0.0,
                 num_folds='loso',
                 **kwargs):
        self.samples_per_class = int(samples_per_class)
        self.apex_scale = tuple(apex_scale)
        super().__init__(
            classes=classes,
            num_subjects=num_subjects,
            num_frames=num_frames,
            motion=motion,
            noise_range=noise_range,
            extra_au_prob=extra_au_prob,
            num_folds=num_folds,
            **kwargs)

    def _subject_names(self) -> List[str]:
        return [f'S{i + 1:02d}' for i in range(self.num_subjects)]

    def _level_scale(self, level, rng) -> float:
        return float(rng.uniform(*self.apex_scale))

    def _repeats(self) -> int:
        return self.samples_per_class
