# Copyright (c) mmfer4d contributors. All rights reserved.
import numpy as np
import pytest

from mmfer4d.synthesis import facs
from mmfer4d.synthesis.facs import (AU_NAMES, BLENDSHAPE_NAMES,
                                    EMFACS_PROTOTYPES, au_blendshape_matrices,
                                    au_vector, aus_to_blendshapes,
                                    sample_expression_aus,
                                    sample_subject_style)


def test_table_matches_model_names(face_model):
    assert tuple(face_model.expression_names) == BLENDSHAPE_NAMES
    left, right, central = au_blendshape_matrices(face_model.expression_names)
    assert left.shape == (len(AU_NAMES), len(BLENDSHAPE_NAMES))
    # AU12 -> mouthSmile on each side, reaching weight 1 at intensity E (5).
    au12 = AU_NAMES.index('AU12')
    assert left[au12, BLENDSHAPE_NAMES.index('mouthSmile_L')] * 5 == 1.0
    assert right[au12, BLENDSHAPE_NAMES.index('mouthSmile_R')] * 5 == 1.0
    assert central[au12].sum() == 0
    # Jaw AUs open the jaw by increasing amounts.
    jaw = BLENDSHAPE_NAMES.index('jawOpen')
    opens = [central[AU_NAMES.index(a), jaw] for a in ('AU25', 'AU26',
                                                       'AU27')]
    assert 0 < opens[0] < opens[1] < opens[2]


def test_unknown_blendshape_raises():
    with pytest.raises(KeyError, match='browInnerUp'):
        au_blendshape_matrices(('jawOpen', ))
    with pytest.raises(KeyError, match='AU99'):
        au_vector({'AU99': 1.0})


def test_every_emotion_has_several_variants():
    for emotion in ('anger', 'disgust', 'fear', 'happiness', 'sadness',
                    'surprise'):
        variants = EMFACS_PROTOTYPES[emotion]
        assert len(variants) >= 3
        unique = {tuple(sorted(v.items())) for v in variants}
        assert len(unique) == len(variants)
    assert EMFACS_PROTOTYPES['happiness'][0].keys() == {'AU6', 'AU12'}


def test_sampled_aus_are_the_variant_plus_at_most_one_extra():
    rng = np.random.default_rng(0)
    style = sample_subject_style(rng)
    seen_variants = set()
    for _ in range(200):
        out = sample_expression_aus('fear', 1.0, style, rng)
        variant = EMFACS_PROTOTYPES['fear'][out['variant']]
        applied = {AU_NAMES[i] for i in np.flatnonzero(out['au_intensities'])}
        assert set(variant) <= applied
        extra = applied - set(variant)
        assert len(extra) <= 1 and extra <= set(facs.EXTRA_AUS)
        assert not ({'AU43', 'AU7'} & extra and 'AU5' in variant)
        assert out['au_intensities'].max() <= 5.0
        # The blendshapes are exactly those of the applied AUs.
        np.testing.assert_allclose(
            out['blendshapes'],
            aus_to_blendshapes(out['au_intensities'], out['gain_left'],
                               out['gain_right']))
        seen_variants.add(out['variant'])
    assert len(seen_variants) == len(EMFACS_PROTOTYPES['fear'])
    neutral = sample_expression_aus('neutral', 0.0, style, rng)
    assert not neutral['au_intensities'].any()
    assert not neutral['blendshapes'].any()
    with pytest.raises(KeyError, match='joy'):
        sample_expression_aus('joy', 1.0, style, rng)


def test_intensity_level_scales_aus():
    style = sample_subject_style(np.random.default_rng(1))
    # Gains below 1 keep the top level under the clip at intensity 5.
    style['au_gain'][:] = 0.9
    lo = sample_expression_aus('happiness', facs.LEVEL_SCALE[1], style,
                               np.random.default_rng(5), extra_au_prob=0,
                               jitter=0)
    hi = sample_expression_aus('happiness', facs.LEVEL_SCALE[4], style,
                               np.random.default_rng(5), extra_au_prob=0,
                               jitter=0)
    au12 = AU_NAMES.index('AU12')
    ratio = lo['au_intensities'][au12] / hi['au_intensities'][au12]
    assert ratio == pytest.approx(facs.LEVEL_SCALE[1], rel=1e-5)


def test_contempt_is_unilateral():
    for side in (-1, 1):
        style = dict(sample_subject_style(np.random.default_rng(2)),
                     side=side)
        out = sample_expression_aus('contempt', 1.0, style,
                                    np.random.default_rng(3),
                                    extra_au_prob=0)
        w = dict(zip(BLENDSHAPE_NAMES, out['blendshapes']))
        on, off = ('_L', '_R') if side > 0 else ('_R', '_L')
        assert w['mouthDimple' + on] > 0.3
        assert w['mouthDimple' + off] == 0
