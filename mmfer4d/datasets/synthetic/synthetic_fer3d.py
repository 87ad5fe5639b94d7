# Copyright (c) mmfer4d contributors. All rights reserved.
"""SyntheticFER3D: a BU-3DFE-like set of static scans synthesised from the
ICT-FaceKit model and FACS."""
from typing import List, Optional, Sequence, Tuple

from mmfer4d.registry import DATASETS
from mmfer4d.synthesis import (AU_NAMES, LEVEL_SCALE, au_annotation, make_rng,
                               sample_subject, scan_params, subject_names)
from ..base_fer_dataset import BaseFERDataset
from ..categories import EXPRESSIONS_6, EXPRESSIONS_7

_SCAN_STREAM = 2


@DATASETS.register_module()
class SyntheticFER3D(BaseFERDataset):
    """BU-3DFE-like static expression scans, made on the fly.

    Mirrors BU-3DFE (Yin et al., FG 2006): per subject, each of the six
    prototypic expressions at four intensity levels (1 low .. 4 highest)
    plus one neutral scan, so 100 subjects give 100 x (6 x 4 + 1) = 2,500
    scans. Each subject is an ICT-FaceKit identity with weights ~ N(0, 1)
    over the 100 modes and its own procedural skin texture; each scan draws
    one EMFACS variant of its emotion (see :mod:`mmfer4d.synthesis.facs`),
    the subject's AU gains and asymmetry, an occasional extra AU, a small
    head pose and scanner noise.

    Samples are parametric: the data info holds ``synth_params`` and the
    ``SynthesizeFaceMesh`` transform makes the mesh, so indexing reads no
    file and draws no mesh. Every sample is seeded by ``(seed, subject,
    expression, level)``: the same ``seed`` gives the same scans in any
    process, whichever classes, intensities or subjects are kept.

    Data info keys: ``gt_label``, ``subject``, ``expression``,
    ``intensity`` (0 neutral, 1..4), ``au_intensities`` ``(A,)`` float32
    (0-5), ``au_labels`` ``(A,)`` int8, ``facs_variant`` (index of the
    EMFACS variant, -1 for neutral), ``synth_params``. AU names are in
    ``metainfo['au_names']``.

    Args:
        classes (Sequence[str], optional): The six expressions
            (``EXPRESSIONS_6``, default) or seven with ``'neutral'``.
        intensities (Sequence[int], optional): Intensity levels kept for the
            non-neutral scans; None keeps all four. Defaults to (3, 4), the
            two highest levels used by the common BU-3DFE protocol (Wang et
            al., CVPR 2006).
        num_subjects (int): Subjects generated. Defaults to 100.
        seed (int): Seed of both the data and the fold partition. Defaults
            to 0.
        data_seed (int, optional): Seed of the data only, when it should
            differ from the fold seed. Defaults to ``seed``.
        pose_std (float): Std of yaw/pitch/roll, degrees. Defaults to 3.0.
        pose_limit (float): Clip of each angle, degrees. Defaults to 8.0.
        noise_range (tuple[float]): Range of the per-scan noise std, mm.
            Defaults to (0.05, 0.25).
        extra_au_prob (float): Chance of one extra AU per scan. Defaults to
            0.25.
        face_model (str, optional): Path of the face model npz, stored in
            ``synth_params``. Defaults to None (default search).
        **kwargs: Protocol args of :class:`BaseFERDataset` (``subjects``,
            ``fold``, ``num_folds``, ``split``) and ``pipeline`` etc.

    Raises:
        ValueError: On a class not in ``EXPRESSIONS_7`` or an intensity
            outside 1..4.
    """

    METAINFO = dict(classes=EXPRESSIONS_6, au_names=AU_NAMES)

    def __init__(self,
                 classes: Optional[Sequence[str]] = None,
                 intensities: Optional[Sequence[int]] = (3, 4),
                 num_subjects: int = 100,
                 seed: int = 0,
                 data_seed: Optional[int] = None,
                 pose_std: float = 3.0,
                 pose_limit: float = 8.0,
                 noise_range: Tuple[float, float] = (0.05, 0.25),
                 extra_au_prob: float = 0.25,
                 face_model: Optional[str] = None,
                 **kwargs):
        if classes is not None:
            bad = [c for c in classes if c not in EXPRESSIONS_7]
            if bad:
                raise ValueError(f'SyntheticFER3D: unknown classes {bad}; '
                                 f'choose among {EXPRESSIONS_7}')
        if intensities is not None:
            bad = [i for i in intensities if i not in (1, 2, 3, 4)]
            if bad:
                raise ValueError(
                    f'SyntheticFER3D: intensities must be in 1..4, got {bad}')
        self.intensities = None if intensities is None else tuple(intensities)
        self.num_subjects = int(num_subjects)
        self.data_seed = seed if data_seed is None else data_seed
        self.pose_std = pose_std
        self.pose_limit = pose_limit
        self.noise_range = tuple(noise_range)
        self.extra_au_prob = extra_au_prob
        self.face_model = face_model
        super().__init__(classes=classes, seed=seed, **kwargs)

    def load_raw_data_list(self) -> List[dict]:
        classes = list(self.metainfo['classes'])
        levels = (1, 2, 3, 4) if self.intensities is None else \
            self.intensities
        out = []
        names = subject_names(self.num_subjects, 4)
        for s, subject in enumerate(names):
            info = sample_subject(self.data_seed, s)
            for expression in EXPRESSIONS_7:
                if expression not in classes:
                    continue
                e = EXPRESSIONS_7.index(expression)
                for level in ((0, ) if expression == 'neutral' else levels):
                    rng = make_rng(self.data_seed, _SCAN_STREAM, s, e, level)
                    params, aus = scan_params(
                        info,
                        expression,
                        LEVEL_SCALE[level],
                        rng,
                        pose_std=self.pose_std,
                        pose_limit=self.pose_limit,
                        noise_range=self.noise_range,
                        extra_au_prob=self.extra_au_prob,
                        face_model=self.face_model)
                    sample = dict(
                        gt_label=classes.index(expression),
                        subject=subject,
                        expression=expression,
                        intensity=level,
                        facs_variant=aus['variant'],
                        synth_params=params)
                    sample.update(au_annotation(aus['au_intensities']))
                    out.append(sample)
        return out
