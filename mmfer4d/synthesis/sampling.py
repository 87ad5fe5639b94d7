# Copyright (c) mmfer4d contributors. All rights reserved.
"""Parameter sampling shared by the synthetic data sets.

Every draw uses its own generator seeded by ``(seed, stream, subject, ...)``
so a sample's parameters do not depend on which other samples are kept
(classes, intensities, subject subsets) nor on the process that draws them.
"""
from typing import Optional, Sequence, Tuple

import numpy as np

from .facs import AU_NAMES, sample_expression_aus, sample_subject_style

# Stream tags keep the draws of different purposes independent.
_SUBJECT, _SCAN, _SEQUENCE = 1, 2, 3


def make_rng(*keys: int) -> np.random.Generator:
    """A generator seeded by a tuple of non-negative ints."""
    return np.random.default_rng([int(k) & 0xFFFFFFFF for k in keys])


def sample_subject(seed: int,
                   index: int,
                   num_identity: int = 100,
                   identity_scale: float = 1.0) -> dict:
    """Identity, AU style and texture seed of subject ``index``.

    Args:
        seed (int): Data set seed.
        index (int): Subject index (0-based).
        num_identity (int): Identity modes drawn. Defaults to 100.
        identity_scale (float): Std of the identity weights (the ICT modes
            are scaled for N(0, 1)). Defaults to 1.0.

    Returns:
        dict: ``identity`` ``(num_identity,)`` float32, ``style`` (see
        :func:`~.facs.sample_subject_style`), ``texture_seed`` (int).
    """
    rng = make_rng(seed, _SUBJECT, index)
    identity = (rng.standard_normal(num_identity) * identity_scale).astype(
        np.float32)
    identity.setflags(write=False)
    style = sample_subject_style(rng)
    return dict(
        identity=identity,
        style=style,
        texture_seed=int(rng.integers(0, 2**31 - 1)))


def sample_pose(rng: np.random.Generator, std: float,
                limit: float) -> np.ndarray:
    """Head rotation (yaw, pitch, roll), N(0, std) clipped to +-limit
    degrees, ``(3,)`` float32."""
    return np.clip(rng.normal(0.0, std, 3), -limit, limit).astype(np.float32)


def scan_params(subject: dict,
                expression: str,
                level_scale: float,
                rng: np.random.Generator,
                pose_std: float = 3.0,
                pose_limit: float = 8.0,
                noise_range: Tuple[float, float] = (0.05, 0.25),
                extra_au_prob: float = 0.25,
                prototypes: Optional[dict] = None,
                face_model: Optional[str] = None) -> Tuple[dict, dict]:
    """Parameters and AU annotation of one static scan.

    Returns:
        tuple[dict, dict]: ``synth_params`` (see
        :mod:`~.shape`) and ``aus`` (from
        :func:`~.facs.sample_expression_aus`).
    """
    aus = sample_expression_aus(
        expression,
        level_scale,
        subject['style'],
        rng,
        prototypes=prototypes,
        extra_au_prob=extra_au_prob)
    params = dict(
        identity=subject['identity'],
        blendshapes=aus['blendshapes'],
        pose=sample_pose(rng, pose_std, pose_limit),
        noise_std=float(rng.uniform(*noise_range)),
        noise_seed=int(rng.integers(0, 2**31 - 1)),
        texture_seed=subject['texture_seed'],
        face_model=face_model)
    return params, aus


def smoothstep(x: np.ndarray) -> np.ndarray:
    """``3x^2 - 2x^3`` on x clipped to [0, 1]: a rise with zero slope at
    both ends."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def temporal_envelope(num_frames: int, onset: int, apex_start: int,
                      apex_end: int, offset: int) -> np.ndarray:
    """Activation of an expression over a sequence.

    Zero (neutral) before ``onset``, a smooth rise to 1 at ``apex_start``,
    held to ``apex_end``, a smooth fall back to 0 at ``offset``, zero after:
    the neutral-onset-apex-offset-neutral course of BU-4DFE's posed
    sequences (Yin et al., FG 2008) and of micro-expressions (Yan et al.,
    2013).

    Returns:
        np.ndarray: ``(num_frames,)`` float32 in [0, 1].
    """
    t = np.arange(num_frames, dtype=np.float64)
    rise = smoothstep((t - onset) / max(apex_start - onset, 1))
    fall = 1.0 - smoothstep((t - apex_end) / max(offset - apex_end, 1))
    env = np.where(t < apex_start, rise, np.where(t <= apex_end, 1.0, fall))
    return env.astype(np.float32)


def sequence_timing(rng: np.random.Generator, num_frames: int,
                    onset: Tuple[float, float], rise: Tuple[float, float],
                    hold: Tuple[float, float],
                    fall: Tuple[float, float]) -> Tuple[int, int, int, int]:
    """Random key frames ``(onset, apex_start, apex_end, offset)``.

    Phase lengths are drawn as fractions of ``num_frames`` (uniform in the
    given ranges) and shrunk together if the expression would not end at
    least 2 frames before the last frame.

    Raises:
        ValueError: If ``num_frames`` is below 8.
    """
    if num_frames < 8:
        raise ValueError(f'num_frames must be at least 8, got {num_frames}')
    parts = np.array([rng.uniform(*r) for r in (onset, rise, hold, fall)])
    parts = parts * num_frames
    budget = num_frames - 3
    if parts.sum() > budget:
        parts *= budget / parts.sum()
    keys = np.floor(np.cumsum(parts)).astype(int)
    o, a0, a1, off = keys
    o = max(o, 1)
    a0 = max(a0, o + 1)
    a1 = max(a1, a0)
    off = min(max(off, a1 + 1), num_frames - 2)
    return int(o), int(a0), int(a1), int(off)


def head_motion(rng: np.random.Generator, num_frames: int,
                base: np.ndarray, amplitude: Tuple[float, float],
                cycles: Tuple[float, float] = (0.3, 1.2)) -> np.ndarray:
    """Slight head motion: ``base + A sin(2 pi f t / T + phi)`` per axis.

    Returns:
        np.ndarray: ``(num_frames, 3)`` float32 (yaw, pitch, roll) degrees.
    """
    t = np.arange(num_frames)[:, None] / max(num_frames, 1)
    amp = rng.uniform(*amplitude, 3)
    freq = rng.uniform(*cycles, 3)
    phase = rng.uniform(0, 2 * np.pi, 3)
    wave = np.sin(2 * np.pi * freq * t + phase) - np.sin(phase)
    return (base[None] + amp * wave).astype(np.float32)


def sequence_params(subject: dict,
                    expression: str,
                    level_scale: float,
                    rng: np.random.Generator,
                    num_frames: int,
                    timing: dict,
                    pose_std: float = 3.0,
                    pose_limit: float = 8.0,
                    motion: Tuple[float, float] = (0.5, 2.0),
                    noise_range: Tuple[float, float] = (0.05, 0.25),
                    extra_au_prob: float = 0.25,
                    prototypes: Optional[dict] = None,
                    face_model: Optional[str] = None) -> Tuple[dict, dict]:
    """Parameters, key frames and AU annotation of one sequence.

    Args:
        timing (dict): Ranges ``onset``, ``rise``, ``hold``, ``fall`` as
            fractions of ``num_frames`` (see :func:`sequence_timing`).
        motion (tuple[float]): Range of the head-motion amplitude, degrees.

    Returns:
        tuple[dict, dict]: ``synth_params`` (with ``envelope`` ``(T,)`` and
        ``pose`` ``(T, 3)``) and an annotation dict with the AUs (see
        :func:`~.facs.sample_expression_aus`) plus ``onset_frame``,
        ``apex_frame`` (centre of the apex plateau) and ``offset_frame``.
    """
    aus = sample_expression_aus(
        expression,
        level_scale,
        subject['style'],
        rng,
        prototypes=prototypes,
        extra_au_prob=extra_au_prob)
    onset, a0, a1, offset = sequence_timing(rng, num_frames, **timing)
    envelope = temporal_envelope(num_frames, onset, a0, a1, offset)
    pose = head_motion(rng, num_frames, sample_pose(rng, pose_std,
                                                    pose_limit), motion)
    params = dict(
        identity=subject['identity'],
        blendshapes=aus['blendshapes'],
        envelope=envelope,
        pose=pose,
        noise_std=float(rng.uniform(*noise_range)),
        noise_seed=int(rng.integers(0, 2**31 - 1 - num_frames)),
        texture_seed=subject['texture_seed'],
        face_model=face_model)
    ann = dict(aus)
    ann.update(
        onset_frame=onset, apex_frame=(a0 + a1) // 2, offset_frame=offset)
    return params, ann


def au_annotation(au_intensities: np.ndarray) -> dict:
    """``au_intensities`` ``(A,)`` float32 (0-5) and ``au_labels`` ``(A,)``
    int8, 1 where the AU was applied."""
    au = np.asarray(au_intensities, np.float32)
    assert au.shape == (len(AU_NAMES), )
    return dict(au_intensities=au, au_labels=(au > 0).astype(np.int8))


def subject_names(num: int,
                  digits: int,
                  female_share: float = 0.56) -> Sequence[str]:
    """BU-style subject ids: ``F0001``... then ``M0001``...

    The first ``round(female_share * num)`` subjects get ``F`` (BU-3DFE has
    56 female and 44 male subjects). The letter is only a naming
    convention here: the ICT identity space has no sex parameter.
    """
    num_f = int(round(female_share * num))
    return [f'F{i + 1:0{digits}d}' for i in range(num_f)] + \
        [f'M{i + 1:0{digits}d}' for i in range(num - num_f)]
