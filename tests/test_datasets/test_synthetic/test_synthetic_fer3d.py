# Copyright (c) mmfer4d contributors. All rights reserved.
from collections import Counter

import numpy as np
import pytest

from mmfer4d.datasets import EXPRESSIONS_6, EXPRESSIONS_7
from mmfer4d.datasets import SyntheticFER3D
from mmfer4d.registry import DATASETS
from mmfer4d.synthesis import AU_NAMES, EMFACS_PROTOTYPES, synthesize


def test_counts_and_labels():
    data = SyntheticFER3D(
        classes=EXPRESSIONS_7, intensities=None, num_subjects=4)
    assert len(data) == 4 * (6 * 4 + 1)
    per_class = Counter(d['expression'] for d in data.data_list)
    assert per_class['neutral'] == 4
    assert all(per_class[e] == 16 for e in EXPRESSIONS_6)
    assert set(Counter(d['subject'] for d in data.data_list).values()) == {25}
    assert data.subjects == ['F0001', 'F0002', 'M0001', 'M0002']
    assert data.metainfo['au_names'] == AU_NAMES
    for d in data.data_list:
        assert d['gt_label'] == EXPRESSIONS_7.index(d['expression'])
        assert (d['intensity'] == 0) == (d['expression'] == 'neutral')
        # AU labels are exactly the applied AUs ...
        np.testing.assert_array_equal(d['au_labels'],
                                      d['au_intensities'] > 0)
        if d['expression'] == 'neutral':
            assert not d['au_labels'].any()
            assert not d['synth_params']['blendshapes'].any()
            continue
        # ... which hold the EMFACS variant drawn.
        variant = EMFACS_PROTOTYPES[d['expression']][d['facs_variant']]
        applied = {a for a, on in zip(AU_NAMES, d['au_labels']) if on}
        assert set(variant) <= applied


def test_default_protocol_and_filters():
    data = DATASETS.build(dict(type='SyntheticFER3D', num_subjects=3))
    assert data.metainfo['classes'] == EXPRESSIONS_6
    assert {d['intensity'] for d in data.data_list} == {3, 4}
    assert len(data) == 3 * 6 * 2
    # Kept scans do not depend on the filter.
    full = SyntheticFER3D(intensities=None, num_subjects=3)
    pick = {(d['subject'], d['expression'], d['intensity']):
            d['synth_params']['noise_seed'] for d in full.data_list}
    for d in data.data_list:
        key = (d['subject'], d['expression'], d['intensity'])
        assert pick[key] == d['synth_params']['noise_seed']
    with pytest.raises(ValueError, match='intensities'):
        SyntheticFER3D(intensities=(5, ))
    with pytest.raises(ValueError, match='contempt'):
        SyntheticFER3D(classes=('contempt', ))


def test_folds_are_subject_independent():
    kw = dict(num_subjects=10, num_folds=5, fold=1)
    train = SyntheticFER3D(split='train', **kw)
    test = SyntheticFER3D(split='test', **kw)
    assert len(train) + len(test) == 10 * 12
    assert not set(train.subjects) & set(test.subjects)


def test_determinism_between_instances():
    a = SyntheticFER3D(num_subjects=2, seed=5)
    b = SyntheticFER3D(num_subjects=2, seed=5)
    c = SyntheticFER3D(num_subjects=2, seed=6)
    pa, pb, pc = (x.get_data_info(3)['synth_params'] for x in (a, b, c))
    for key in ('identity', 'blendshapes', 'pose'):
        np.testing.assert_array_equal(pa[key], pb[key])
    assert not np.array_equal(pa['identity'], pc['identity'])


def _features(lm):
    """Landmark measures in mm (68-point Multi-PIE indices)."""
    return dict(
        corner_y=(lm[48, 1] + lm[54, 1]) / 2,
        mouth_width=lm[54, 0] - lm[48, 0],
        brow_y=lm[17:27, 1].mean(),
        brow_gap=lm[22, 0] - lm[21, 0],
        chin_y=lm[8, 1],
        lip_gap=lm[62, 1] - lm[66, 1],
    )


def test_expressions_move_the_right_regions(face_model):
    data = SyntheticFER3D(
        classes=EXPRESSIONS_7, intensities=(4, ), num_subjects=6, seed=0)
    lms = {}
    for d in data.data_list:
        params = dict(d['synth_params'], pose=np.zeros(3), noise_std=0.0)
        lms[d['subject'], d['expression']] = synthesize(
            params, face_model, with_texture=False).landmarks
    delta = {}
    for e in EXPRESSIONS_6:
        diffs = [{
            k: v - _features(lms[s, 'neutral'])[k]
            for k, v in _features(lms[s, e]).items()
        } for s in data.subjects]
        delta[e] = {k: np.mean([x[k] for x in diffs]) for k in diffs[0]}
    # Happiness raises and widens the mouth corners (AU12).
    assert 4 < delta['happiness']['corner_y'] < 15
    assert 5 < delta['happiness']['mouth_width'] < 25
    # Surprise raises the brows (AU1+2) and drops the jaw (AU26/27).
    assert 4 < delta['surprise']['brow_y'] < 15
    assert delta['surprise']['chin_y'] < -4
    assert delta['surprise']['lip_gap'] > 4
    # Anger lowers and draws the brows together (AU4).
    assert delta['anger']['brow_y'] < -1.5
    assert delta['anger']['brow_gap'] < -1.5
    # Sadness pulls the mouth corners down (AU15).
    assert delta['sadness']['corner_y'] < -1
    # Fear raises the brows and stretches the mouth (AU1+2, AU20).
    assert delta['fear']['brow_y'] > 3
    assert delta['fear']['mouth_width'] > 2
    # Every expression moves some landmark by millimetres, not metres.
    for e in EXPRESSIONS_6:
        moved = max(abs(v) for v in delta[e].values())
        assert 1.5 < moved < 30, (e, delta[e])


def test_index_2500_scans_without_meshes(monkeypatch):
    import mmfer4d.synthesis.shape as shape

    def fail(*args, **kwargs):
        raise AssertionError('indexing must not synthesise meshes')

    # Every mesh goes through the identity product, whichever entry point.
    monkeypatch.setattr(shape, 'identity_shape', fail)
    data = SyntheticFER3D(classes=EXPRESSIONS_7, intensities=None)
    assert len(data) == 2500
    assert len(data.subjects) == 100
