# Copyright (c) mmfer4d contributors. All rights reserved.
"""Facial Action Coding System tables: AUs to ARKit blendshapes, and the
EMFACS emotion prototypes, with the sampling that turns them into faces.

Sources:

- P. Ekman, W. V. Friesen. *Facial Action Coding System*. Consulting
  Psychologists Press, 1978; P. Ekman, W. V. Friesen, J. C. Hager. *Facial
  Action Coding System: The Manual*, 2002 (AU definitions, the A-E intensity
  scale, used here as 1-5).
- W. V. Friesen, P. Ekman. *EMFACS-7: Emotional Facial Action Coding
  System*. Unpublished manuscript, UCSF, 1983; the prototype and major
  variant AU combinations per emotion as tabulated in P. Ekman, E. Rosenberg
  (eds.), *What the Face Reveals*, 2nd ed., Oxford UP, 2005, and in
  D. Matsumoto, P. Ekman, "Facial expression analysis", Scholarpedia 3(5),
  2008; contempt as unilateral AU12+AU14 (Matsumoto & Ekman 2004,
  "The relationship among expressions, labels, and descriptions of
  contempt", JPSP 87(4)).
- Micro-expression classes and AU patterns: W.-J. Yan et al., "CASME II",
  PLoS ONE 9(1), 2014 (repression = AU14/15/17/24 combinations); X. Li et
  al., "4DME: A spontaneous 4D micro-expression dataset", IEEE TAC 2022
  (the classes positive / negative / surprise / repression / others).
- Apple ARKit ``ARFaceAnchor.BlendShapeLocation`` documentation (meaning of
  each blendshape); ICT-FaceKit uses these 53 names.

The AU-to-blendshape table maps the FACS appearance changes of each AU to
the ARKit shape describing the same movement; where one AU has no single
ARKit counterpart a small documented mix is used (AU23, AU25, AU27).
"""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

#: The 53 ICT-FaceKit / ARKit blendshape names, in the npz's order.
BLENDSHAPE_NAMES = (
    'browDown_L', 'browDown_R', 'browInnerUp_L', 'browInnerUp_R',
    'browOuterUp_L', 'browOuterUp_R', 'cheekPuff_L', 'cheekPuff_R',
    'cheekSquint_L', 'cheekSquint_R', 'eyeBlink_L', 'eyeBlink_R',
    'eyeLookDown_L', 'eyeLookDown_R', 'eyeLookIn_L', 'eyeLookIn_R',
    'eyeLookOut_L', 'eyeLookOut_R', 'eyeLookUp_L', 'eyeLookUp_R',
    'eyeSquint_L', 'eyeSquint_R', 'eyeWide_L', 'eyeWide_R', 'jawForward',
    'jawLeft', 'jawOpen', 'jawRight', 'mouthClose', 'mouthDimple_L',
    'mouthDimple_R', 'mouthFrown_L', 'mouthFrown_R', 'mouthFunnel',
    'mouthLeft', 'mouthLowerDown_L', 'mouthLowerDown_R', 'mouthPress_L',
    'mouthPress_R', 'mouthPucker', 'mouthRight', 'mouthRollLower',
    'mouthRollUpper', 'mouthShrugLower', 'mouthShrugUpper', 'mouthSmile_L',
    'mouthSmile_R', 'mouthStretch_L', 'mouthStretch_R', 'mouthUpperUp_L',
    'mouthUpperUp_R', 'noseSneer_L', 'noseSneer_R')

#: AU -> ((blendshape, weight at FACS intensity E), ...). A name without a
#: ``_L``/``_R`` suffix that the model has only with suffixes acts on both
#: sides (with the side gains); ``jawOpen`` etc. are central.
AU_TO_BLENDSHAPES: Dict[str, Tuple[Tuple[str, float], ...]] = {
    'AU1': (('browInnerUp', 1.0), ),  # inner brow raiser
    'AU2': (('browOuterUp', 1.0), ),  # outer brow raiser
    'AU4': (('browDown', 1.0), ),  # brow lowerer
    'AU5': (('eyeWide', 1.0), ),  # upper lid raiser
    'AU6': (('cheekSquint', 1.0), ),  # cheek raiser
    'AU7': (('eyeSquint', 1.0), ),  # lid tightener
    'AU9': (('noseSneer', 1.0), ),  # nose wrinkler
    'AU10': (('mouthUpperUp', 1.0), ),  # upper lip raiser
    'AU12': (('mouthSmile', 1.0), ),  # lip corner puller
    'AU14': (('mouthDimple', 1.0), ),  # dimpler
    'AU15': (('mouthFrown', 1.0), ),  # lip corner depressor
    'AU16': (('mouthLowerDown', 1.0), ),  # lower lip depressor
    'AU17': (('mouthShrugLower', 1.0), ),  # chin raiser
    'AU20': (('mouthStretch', 1.0), ),  # lip stretcher
    # Lip tightener narrows and tightens the red of the lips: press plus a
    # little pucker (ARKit has no tightener).
    'AU23': (('mouthPress', 0.7), ('mouthPucker', 0.15)),
    'AU24': (('mouthPress', 1.0), ),  # lip pressor
    # Lips part / jaw drop / mouth stretch: jaw opening at increasing
    # amounts (AU25 mostly a lower-lip drop).
    'AU25': (('jawOpen', 0.08), ('mouthLowerDown', 0.3)),
    'AU26': (('jawOpen', 0.3), ),
    'AU27': (('jawOpen', 0.6), ('mouthStretch', 0.2)),
    'AU43': (('eyeBlink', 1.0), ),  # eyes closed
    'AU45': (('eyeBlink', 1.0), ),  # blink
}

#: AU names, the order of ``au_intensities`` / ``au_labels``.
AU_NAMES: Tuple[str, ...] = tuple(AU_TO_BLENDSHAPES)

#: EMFACS prototypes and major variants, ``{emotion: [ {AU: intensity at
#: the highest level (FACS 1-5 = A-E)}, ...]}``. Friesen & Ekman (1983) as
#: tabulated by Matsumoto & Ekman (2008); several variants per emotion so
#: that no class is a single face.
EMFACS_PROTOTYPES: Dict[str, List[Dict[str, float]]] = {
    'happiness': [
        {'AU6': 3.5, 'AU12': 4.5},
        {'AU6': 3.5, 'AU12': 4.5, 'AU25': 3.0},
        {'AU6': 4.0, 'AU12': 5.0, 'AU25': 3.0, 'AU26': 3.0},
        {'AU6': 2.0, 'AU12': 4.0, 'AU25': 2.5},
    ],
    'sadness': [
        {'AU1': 4.0, 'AU4': 3.0, 'AU15': 4.0},
        {'AU1': 4.0, 'AU4': 3.0, 'AU15': 3.5, 'AU17': 3.5},
        # Brow lowering dominant.
        {'AU1': 2.0, 'AU4': 4.5, 'AU15': 4.0, 'AU17': 2.5},
        {'AU1': 3.5, 'AU4': 2.5, 'AU6': 2.0, 'AU15': 4.0},
    ],
    'surprise': [
        {'AU1': 4.5, 'AU2': 4.5, 'AU5': 2.0, 'AU26': 4.0},
        {'AU1': 4.5, 'AU2': 4.5, 'AU5': 2.0, 'AU27': 4.0},
        {'AU1': 4.0, 'AU2': 4.0, 'AU26': 4.0},
        {'AU1': 4.0, 'AU2': 4.0, 'AU5': 3.0, 'AU25': 3.0, 'AU26': 3.0},
    ],
    'fear': [
        {'AU1': 4.0, 'AU2': 3.5, 'AU4': 3.0, 'AU5': 4.0, 'AU7': 2.5,
         'AU20': 4.0, 'AU26': 3.5},
        {'AU1': 4.0, 'AU2': 3.5, 'AU4': 3.0, 'AU5': 4.0, 'AU20': 4.0,
         'AU25': 3.0},
        {'AU1': 4.0, 'AU2': 3.5, 'AU4': 3.0, 'AU5': 4.0, 'AU26': 3.5},
        {'AU1': 3.5, 'AU2': 3.5, 'AU5': 4.5, 'AU20': 3.5, 'AU27': 3.0},
    ],
    'anger': [
        {'AU4': 4.5, 'AU5': 3.0, 'AU7': 3.5, 'AU23': 4.0},
        {'AU4': 4.5, 'AU5': 3.0, 'AU7': 3.5, 'AU24': 4.0},
        {'AU4': 4.5, 'AU5': 3.0, 'AU7': 3.5, 'AU17': 3.5, 'AU23': 3.5},
        {'AU4': 4.5, 'AU5': 3.0, 'AU7': 3.5, 'AU17': 3.5, 'AU24': 3.5},
        {'AU4': 4.5, 'AU5': 3.0, 'AU7': 3.5, 'AU10': 3.5, 'AU23': 3.0,
         'AU25': 3.0, 'AU26': 2.5},
    ],
    'disgust': [
        {'AU9': 4.5, 'AU15': 3.0, 'AU16': 3.5},
        {'AU9': 4.5, 'AU15': 3.0, 'AU16': 3.5, 'AU26': 2.5},
        {'AU9': 4.5, 'AU17': 4.0},
        {'AU10': 4.5, 'AU16': 3.5, 'AU25': 3.0},
        {'AU10': 4.5, 'AU17': 4.0},
    ],
    # Unilateral (one side only); not one of the six BU-3DFE classes.
    'contempt': [
        {'AU12': 3.0, 'AU14': 3.5},
        {'AU14': 4.0},
    ],
}

#: Emotions whose AUs act on one side of the face only.
UNILATERAL_EMOTIONS = ('contempt', )

#: Micro-expression classes (4DME) and AU patterns (CASME II style), apex
#: intensities on the FACS 1-5 scale before the micro scaling.
MICRO_PROTOTYPES: Dict[str, List[Dict[str, float]]] = {
    'positive': [{'AU12': 4.0}, {'AU6': 3.0, 'AU12': 4.0}],
    'negative': [{'AU4': 4.0}, {'AU4': 4.0, 'AU7': 3.0}, {'AU9': 4.0},
                 {'AU10': 4.0}, {'AU1': 3.0, 'AU4': 4.0}],
    'surprise': [{'AU1': 4.0, 'AU2': 4.0}, {'AU1': 4.0, 'AU2': 4.0,
                                            'AU5': 3.0}],
    'repression': [{'AU14': 4.0}, {'AU15': 4.0}, {'AU17': 4.0},
                   {'AU24': 4.0}, {'AU15': 3.5, 'AU17': 3.5},
                   {'AU17': 3.5, 'AU24': 3.5}],
    'others': [{'AU1': 4.0}, {'AU2': 4.0}, {'AU16': 4.0}, {'AU23': 4.0},
               {'AU25': 4.0}, {'AU6': 4.0}],
}

#: Share of the top-level AU intensity at BU-3DFE intensity levels 1..4
#: (low, middle, high, highest). Index 0 is neutral.
LEVEL_SCALE = (0.0, 0.35, 0.6, 0.8, 1.0)

#: AUs that may occur on top of a prototype ("occasional extra AUs"), at a
#: low intensity (A-B).
EXTRA_AUS = ('AU7', 'AU10', 'AU14', 'AU17', 'AU25', 'AU43', 'AU1', 'AU6')
#: Extra AUs never added to a variant holding the AU they oppose (a lid
#: droop, AU43, or a lid tightener, AU7, against an upper lid raiser, AU5;
#: lips part, AU25, and chin raiser, AU17, against a jaw drop).
EXTRA_AU_CONFLICTS = {
    'AU43': ('AU5', ),
    'AU7': ('AU5', ),
    'AU25': ('AU26', 'AU27'),
    'AU17': ('AU26', 'AU27'),
}


def _side_split(name: str, model_names: Sequence[str]):
    """Which model blendshapes a table entry means, with their side."""
    names = set(model_names)
    if name in names:
        side = 'L' if name.endswith('_L') else 'R' if name.endswith(
            '_R') else 'C'
        return [(name, side)]
    out = [(name + '_L', 'L'), (name + '_R', 'R')]
    missing = [n for n, _ in out if n not in names]
    if missing:
        raise KeyError(f'blendshape {name!r} not in the face model '
                       f'(looked for {missing})')
    return out


def au_blendshape_matrices(
    model_names: Sequence[str] = BLENDSHAPE_NAMES,
    au_names: Sequence[str] = AU_NAMES
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The AU-to-blendshape table as three linear maps.

    Args:
        model_names (Sequence[str]): The face model's blendshape names.
            Defaults to :data:`BLENDSHAPE_NAMES`.
        au_names (Sequence[str]): AUs, the rows. Defaults to
            :data:`AU_NAMES`.

    Returns:
        tuple[np.ndarray]: ``(left, right, central)``, each ``(A, E)``
        float32: blendshape weight per unit of AU intensity (on the 0-5
        scale, so intensity 5 gives the table's weight).

    Raises:
        KeyError: If a table entry has no blendshape in the model.
    """
    index = {n: i for i, n in enumerate(model_names)}
    mats = {s: np.zeros((len(au_names), len(model_names)), np.float32)
            for s in 'LRC'}
    for a, au in enumerate(au_names):
        for name, weight in AU_TO_BLENDSHAPES[au]:
            for bs, side in _side_split(name, model_names):
                mats[side][a, index[bs]] += weight / 5.0
    return mats['L'], mats['R'], mats['C']


_DEFAULT_MATS = au_blendshape_matrices()


def aus_to_blendshapes(au_intensities: np.ndarray,
                       gain_left: np.ndarray,
                       gain_right: np.ndarray,
                       mats=None) -> np.ndarray:
    """Blendshape weights of AU intensities with per-side gains.

    ``w = clip(a * g_L @ M_L + a * g_R @ M_R + a * (g_L + g_R) / 2 @ M_C,
    0, 1)``, with ``a`` the AU intensities (0-5, FACS A-E) and ``M`` the
    table of :func:`au_blendshape_matrices`.

    Args:
        au_intensities (np.ndarray): ``(..., A)`` AU intensities, 0-5.
        gain_left (np.ndarray): ``(..., A)`` or broadcastable gain of the
            subject's left side (+x).
        gain_right (np.ndarray): Same for the right side.
        mats (tuple, optional): Output of :func:`au_blendshape_matrices`.
            Defaults to the table over :data:`BLENDSHAPE_NAMES`.

    Returns:
        np.ndarray: ``(..., E)`` float32 blendshape weights in [0, 1].
    """
    left, right, central = _DEFAULT_MATS if mats is None else mats
    a = np.asarray(au_intensities, np.float32)
    gl = a * gain_left
    gr = a * gain_right
    w = gl @ left + gr @ right + (0.5 * (gl + gr)) @ central
    return np.clip(w, 0.0, 1.0).astype(np.float32)


def au_vector(aus: Dict[str, float]) -> np.ndarray:
    """A ``{AU: intensity}`` dict as an ``(A,)`` float32 vector over
    :data:`AU_NAMES`.

    Raises:
        KeyError: On an AU not in the table.
    """
    out = np.zeros(len(AU_NAMES), np.float32)
    for au, value in aus.items():
        if au not in AU_TO_BLENDSHAPES:
            raise KeyError(f'unknown AU {au!r}; known: {AU_NAMES}')
        out[AU_NAMES.index(au)] = value
    return out


def sample_subject_style(rng: np.random.Generator,
                         gain_sigma: float = 0.2,
                         asymmetry_sigma: float = 0.08) -> dict:
    """How one subject performs AUs: per-AU gain and left/right asymmetry.

    Args:
        rng (np.random.Generator): Random source.
        gain_sigma (float): Log-normal sigma of the per-AU gain (clipped to
            [0.6, 1.5]). Defaults to 0.2.
        asymmetry_sigma (float): Std of the per-AU side imbalance ``s``
            (left gain ``1 + s``, right ``1 - s``, clipped to +-0.3).
            Defaults to 0.08.

    Returns:
        dict: ``au_gain`` ``(A,)``, ``asymmetry`` ``(A,)``, ``side``
        (+1 left / -1 right, the side of unilateral expressions).
    """
    num = len(AU_NAMES)
    gain = np.clip(np.exp(rng.normal(0.0, gain_sigma, num)), 0.6, 1.5)
    asym = np.clip(rng.normal(0.0, asymmetry_sigma, num), -0.3, 0.3)
    return dict(
        au_gain=gain.astype(np.float32),
        asymmetry=asym.astype(np.float32),
        side=int(rng.choice([-1, 1])))


def sample_expression_aus(expression: str,
                          level_scale: float,
                          style: dict,
                          rng: np.random.Generator,
                          prototypes: Optional[dict] = None,
                          extra_au_prob: float = 0.25,
                          jitter: float = 0.1) -> dict:
    """Draw the AUs of one expression and their blendshape weights.

    A variant is drawn uniformly among the emotion's EMFACS combinations;
    each AU intensity is ``base * level_scale * subject_gain * (1 + N(0,
    jitter))``, clipped to [0, 5]; with probability ``extra_au_prob`` one AU
    of :data:`EXTRA_AUS` absent from the variant is added at intensity
    U(0.5, 1.5) (A-B, unscaled). Neutral (or ``level_scale == 0``) gives no
    AU.

    Args:
        expression (str): An emotion of ``prototypes`` or ``'neutral'``.
        level_scale (float): Share of the top intensity (see
            :data:`LEVEL_SCALE`).
        style (dict): From :func:`sample_subject_style`.
        rng (np.random.Generator): Random source.
        prototypes (dict, optional): Defaults to :data:`EMFACS_PROTOTYPES`.
        extra_au_prob (float): Chance of one extra AU. Defaults to 0.25.
        jitter (float): Relative per-scan intensity jitter. Defaults to 0.1.

    Returns:
        dict: ``au_intensities`` ``(A,)`` float32 (0-5), ``gain_left`` and
        ``gain_right`` ``(A,)`` float32, ``variant`` (int, -1 for neutral),
        ``blendshapes`` ``(E,)`` float32 over :data:`BLENDSHAPE_NAMES`.

    Raises:
        KeyError: On an unknown expression.
    """
    prototypes = EMFACS_PROTOTYPES if prototypes is None else prototypes
    num = len(AU_NAMES)
    au = np.zeros(num, np.float32)
    variant = -1
    if expression != 'neutral' and level_scale > 0:
        if expression not in prototypes:
            raise KeyError(f'no FACS prototype for {expression!r}; known: '
                           f'{sorted(prototypes)}')
        variants = prototypes[expression]
        variant = int(rng.integers(len(variants)))
        base = au_vector(variants[variant])
        on = base > 0
        noise = 1.0 + rng.normal(0.0, jitter, num)
        au = np.where(on, base * level_scale * style['au_gain'] * noise, 0)
        if rng.random() < extra_au_prob:
            present = {AU_NAMES[i] for i in np.flatnonzero(on)}
            free = [
                a for a in EXTRA_AUS if a not in present and not present &
                set(EXTRA_AU_CONFLICTS.get(a, ()))
            ]
            if free:
                extra = AU_NAMES.index(free[int(rng.integers(len(free)))])
                au[extra] = rng.uniform(0.5, 1.5)
        au = np.clip(au, 0.0, 5.0).astype(np.float32)
    asym = style['asymmetry'] + rng.normal(0.0, 0.03, num)
    gain_left = (1.0 + asym).astype(np.float32)
    gain_right = (1.0 - asym).astype(np.float32)
    if expression in UNILATERAL_EMOTIONS:
        if style['side'] > 0:
            gain_right = np.zeros_like(gain_right)
        else:
            gain_left = np.zeros_like(gain_left)
    return dict(
        au_intensities=au,
        gain_left=gain_left,
        gain_right=gain_right,
        variant=variant,
        blendshapes=aus_to_blendshapes(au, gain_left, gain_right))
