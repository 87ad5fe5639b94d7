# Copyright (c) mmfer4d contributors. All rights reserved.
"""SyntheticFER4D: BU-4DFE-like expression sequences synthesised from the
ICT-FaceKit model and FACS."""
from typing import List, Optional, Sequence, Tuple

from mmfer4d.registry import DATASETS
from mmfer4d.synthesis import (AU_NAMES, LEVEL_SCALE, au_annotation, make_rng,
                               sample_subject, sequence_params, subject_names)
from ..base_fer_dataset import BaseFERDataset
from ..categories import EXPRESSIONS_6

_SEQ_STREAM = 3

#: Phase lengths of a posed sequence, fractions of its frames: BU-4DFE's
#: ~100-frame clips (25 fps) go neutral -> onset -> apex -> offset ->
#: neutral (Yin et al., FG 2008).
MACRO_TIMING = dict(
    onset=(0.08, 0.2), rise=(0.15, 0.3), hold=(0.05, 0.2),
    fall=(0.15, 0.3))


@DATASETS.register_module()
class SyntheticFER4D(BaseFERDataset):
    """BU-4DFE-like sequences, one per subject and expression, made on the
    fly.

    Each sequence goes neutral -> onset -> apex (held a few frames) ->
    offset -> neutral with a smooth temporal envelope and varied timing,
    on top of a slight sinusoidal head motion. The apex is an EMFACS
    variant (see :mod:`mmfer4d.synthesis.facs`) at intensity level 3 or 4,
    with the subject's AU gains and asymmetry; the i-th frame's blendshapes are
    ``envelope[i] * apex``, and so are its AU intensities.

    Data info keys: ``gt_label``, ``subject``, ``expression``,
    ``intensity`` (level of the apex, 3 or 4), ``num_frames``,
    ``onset_frame``, ``apex_frame``, ``offset_frame``, ``au_intensities``
    and ``au_labels`` at the apex, ``facs_variant``, ``synth_params``
    (``envelope`` ``(T,)``, ``pose`` ``(T, 3)``, see
    :mod:`mmfer4d.synthesis.shape`). Deterministic from ``seed`` like
    :class:`SyntheticFER3D`.

    Args:
        classes (Sequence[str], optional): Subset of ``EXPRESSIONS_6``.
            Defaults to all six.
        num_subjects (int): Subjects. Defaults to 100 (BU-4DFE has 101).
        num_frames (int): Frames per sequence. Defaults to 100.
        seed (int): Seed of the data and of the folds. Defaults to 0.
        data_seed (int, optional): Seed of the data only. Defaults to
            ``seed``.
        pose_std (float): Std of the base head pose, degrees. Defaults to
            3.0.
        motion (tuple[float]): Range of the head-motion amplitude per axis,
            degrees. Defaults to (0.5, 2.0).
        noise_range (tuple[float]): Range of the noise std, mm. Defaults
            to (0.05, 0.25).
        extra_au_prob (float): Chance of one extra AU. Defaults to 0.25.
        face_model (str, optional): Face model npz path. Defaults to None.
        **kwargs: Protocol args of :class:`BaseFERDataset`.

    Raises:
        ValueError: On a class outside ``EXPRESSIONS_6`` or fewer than 8
            frames.
    """

    METAINFO = dict(classes=EXPRESSIONS_6, au_names=AU_NAMES)
    #: Prototype table and levels; the micro-expression variant overrides.
    PROTOTYPES = None
    VALID_CLASSES = EXPRESSIONS_6
    TIMING = MACRO_TIMING
    LEVELS = (3, 4)
    SUBJECT_DIGITS = 3

    def __init__(self,
                 classes: Optional[Sequence[str]] = None,
                 num_subjects: int = 100,
                 num_frames: int = 100,
                 seed: int = 0,
                 data_seed: Optional[int] = None,
                 pose_std: float = 3.0,
                 motion: Tuple[float, float] = (0.5, 2.0),
                 noise_range: Tuple[float, float] = (0.05, 0.25),
                 extra_au_prob: float = 0.25,
                 face_model: Optional[str] = None,
                 **kwargs):
        name = type(self).__name__
        if classes is not None:
            bad = [c for c in classes if c not in self.VALID_CLASSES]
            if bad:
                raise ValueError(f'{name}: unknown classes {bad}; choose '
                                 f'among {self.VALID_CLASSES}')
        if num_frames < 8:
            raise ValueError(
                f'{name}: num_frames must be at least 8, got {num_frames}')
        self.num_subjects = int(num_subjects)
        self.num_frames = int(num_frames)
        self.data_seed = seed if data_seed is None else data_seed
        self.pose_std = pose_std
        self.motion = tuple(motion)
        self.noise_range = tuple(noise_range)
        self.extra_au_prob = extra_au_prob
        self.face_model = face_model
        super().__init__(classes=classes, seed=seed, **kwargs)

    def _subject_names(self) -> List[str]:
        return list(subject_names(self.num_subjects, self.SUBJECT_DIGITS))

    def _level_scale(self, level, rng) -> float:
        return LEVEL_SCALE[level]

    def _repeats(self) -> int:
        return 1

    def load_raw_data_list(self) -> List[dict]:
        classes = list(self.metainfo['classes'])
        out = []
        for s, subject in enumerate(self._subject_names()):
            info = sample_subject(self.data_seed, s)
            for expression in self.VALID_CLASSES:
                if expression not in classes:
                    continue
                e = self.VALID_CLASSES.index(expression)
                for r in range(self._repeats()):
                    rng = make_rng(self.data_seed, _SEQ_STREAM, s, e, r)
                    level = int(rng.choice(self.LEVELS))
                    params, ann = sequence_params(
                        info,
                        expression,
                        self._level_scale(level, rng),
                        rng,
                        self.num_frames,
                        self.TIMING,
                        pose_std=self.pose_std,
                        motion=self.motion,
                        noise_range=self.noise_range,
                        extra_au_prob=self.extra_au_prob,
                        prototypes=self.PROTOTYPES,
                        face_model=self.face_model)
                    sample = dict(
                        gt_label=classes.index(expression),
                        subject=subject,
                        expression=expression,
                        intensity=level,
                        num_frames=self.num_frames,
                        onset_frame=ann['onset_frame'],
                        apex_frame=ann['apex_frame'],
                        offset_frame=ann['offset_frame'],
                        facs_variant=ann['variant'],
                        synth_params=params)
                    sample.update(au_annotation(ann['au_intensities']))
                    out.append(sample)
        return out
