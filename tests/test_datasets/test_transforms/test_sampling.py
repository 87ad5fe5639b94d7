# Copyright (c) mmfer4d contributors. All rights reserved.
import numpy as np
import pytest

from mmfer4d.datasets.transforms import SampleFrames
from mmfer4d.registry import TRANSFORMS


def _check(inds, t, n):
    assert inds.dtype == np.int64 and inds.shape == (t, )
    assert inds.min() >= 0 and inds.max() < n
    assert np.all(np.diff(inds) >= 0)


@pytest.mark.parametrize('mode',
                         ['uniform', 'onset_apex', 'onset_offset', 'apex'])
def test_modes_in_range_sorted(mode):
    info = dict(num_frames=40, onset_frame=5, apex_frame=20, offset_frame=35)
    np.random.seed(0)
    for test_mode in (False, True):
        sampler = SampleFrames(num_frames=6, mode=mode, test_mode=test_mode)
        for _ in range(20):
            inds = sampler(dict(info))['frame_inds']
            _check(inds, 6, 40)
            if mode == 'onset_apex':
                assert 5 <= inds.min() and inds.max() <= 20
            if mode == 'onset_offset':
                assert 5 <= inds.min() and inds.max() <= 35
            if mode == 'apex':
                assert 20 in inds


def test_test_mode_is_deterministic():
    info = dict(num_frames=40, onset_frame=5, apex_frame=20)
    uniform = SampleFrames(num_frames=4, test_mode=True)
    np.testing.assert_array_equal(
        uniform(dict(info))['frame_inds'], [5, 15, 25, 35])
    onset_apex = SampleFrames(num_frames=4, mode='onset_apex', test_mode=True)
    np.testing.assert_array_equal(
        onset_apex(dict(info))['frame_inds'], [5, 10, 15, 20])
    apex = SampleFrames(num_frames=4, mode='apex', test_mode=True, stride=2)
    np.testing.assert_array_equal(
        apex(dict(info))['frame_inds'], [16, 18, 20, 22])
    # Train mode varies.
    train = SampleFrames(num_frames=4)
    draws = {tuple(train(dict(info))['frame_inds']) for _ in range(10)}
    assert len(draws) > 1


def test_short_sequence_repeats_frames():
    sampler = TRANSFORMS.build(
        dict(type='SampleFrames', num_frames=8, test_mode=True))
    inds = sampler(dict(num_frames=3))['frame_inds']
    _check(inds, 8, 3)
    assert set(inds.tolist()) == {0, 1, 2}
    # Length from frame_paths; apex window clipped at the end.
    apex = SampleFrames(num_frames=5, mode='apex', test_mode=True)
    inds = apex(dict(frame_paths=['a'] * 4, apex_frame=3))['frame_inds']
    np.testing.assert_array_equal(inds, [1, 2, 3, 3, 3])


def test_missing_markers_default_and_errors():
    inds = SampleFrames(
        num_frames=3, mode='apex',
        test_mode=True)(dict(num_frames=11))['frame_inds']
    np.testing.assert_array_equal(inds, [4, 5, 6])
    with pytest.raises(ValueError, match='apex_frame=50'):
        SampleFrames(mode='apex')(dict(num_frames=10, apex_frame=50))
    with pytest.raises(ValueError, match='before'):
        SampleFrames(mode='onset_apex')(
            dict(num_frames=10, onset_frame=6, apex_frame=2))
    with pytest.raises(KeyError, match='num_frames'):
        SampleFrames()(dict())
    with pytest.raises(ValueError, match='mode'):
        SampleFrames(mode='random')


def test_per_frame_au_labels_follow_the_chosen_frames():
    # Frame k's labels are [k % 2, -1 if k == 3 else 0] (-1: not coded).
    labels = np.array([[k % 2, -1 if k == 3 else 0] for k in range(8)],
                      dtype=np.int8)
    out = SampleFrames(num_frames=4, test_mode=True)(
        dict(num_frames=8, frame_au_labels=labels))
    np.testing.assert_array_equal(out['frame_inds'], [1, 3, 5, 7])
    np.testing.assert_array_equal(out['au_labels'],
                                  [[1, 0], [1, -1], [1, 0], [1, 0]])
    assert 'au_labels' not in SampleFrames(num_frames=2)(dict(num_frames=8))
    with pytest.raises(ValueError, match='7 rows for 8 frames'):
        SampleFrames(num_frames=2)(
            dict(num_frames=8, frame_au_labels=labels[:7]))


def test_key_frames_test_mode_takes_the_annotated_frames():
    info = dict(num_frames=40, onset_frame=5, apex_frame=20, offset_frame=35)
    two = SampleFrames(num_frames=2, mode='key_frames', test_mode=True)
    np.testing.assert_array_equal(two(dict(info))['frame_inds'], [5, 20])
    three = SampleFrames(num_frames=3, mode='key_frames', test_mode=True)
    np.testing.assert_array_equal(three(dict(info))['frame_inds'],
                                  [5, 20, 35])
    five = SampleFrames(num_frames=5, mode='key_frames', test_mode=True,
                        stride=2, jitter=3)
    # jitter is a train-time choice only.
    np.testing.assert_array_equal(five(dict(info))['frame_inds'],
                                  [5, 18, 20, 22, 35])


def test_key_frames_train_jitter_stays_in_bounds_and_varies():
    info = dict(num_frames=40, onset_frame=5, apex_frame=20, offset_frame=35)
    sampler = SampleFrames(num_frames=3, mode='key_frames', jitter=2)
    np.random.seed(0)
    picks = [tuple(sampler(dict(info))['frame_inds']) for _ in range(200)]
    onsets, apexes, offsets = map(set, zip(*picks))
    # References move outwards only (into the neutral frames), the apex
    # either way.
    assert onsets == {3, 4, 5}
    assert apexes == {18, 19, 20, 21, 22}
    assert offsets == {35, 36, 37}
    no_jitter = SampleFrames(num_frames=3, mode='key_frames')
    assert {tuple(no_jitter(dict(info))['frame_inds'])
            for _ in range(20)} == {(5, 20, 35)}


def test_key_frames_window_is_clipped_between_references():
    info = dict(num_frames=12, onset_frame=1, apex_frame=9, offset_frame=10)
    sampler = SampleFrames(num_frames=6, mode='key_frames', test_mode=True,
                           stride=2)
    inds = sampler(dict(info))['frame_inds']
    _check(inds, 6, 12)
    assert inds[0] == 1 and inds[-1] == 10


def test_key_frames_errors():
    with pytest.raises(ValueError, match='num_frames >= 2'):
        SampleFrames(num_frames=1, mode='key_frames')
    with pytest.raises(ValueError, match='jitter'):
        SampleFrames(num_frames=3, mode='key_frames', jitter=-1)
    bad = dict(num_frames=40, onset_frame=25, apex_frame=20, offset_frame=35)
    with pytest.raises(ValueError, match='out of order'):
        SampleFrames(num_frames=3, mode='key_frames')(bad)
