# Copyright (c) mmfer4d contributors. All rights reserved.
from collections import Counter

import numpy as np
import pytest

from mmfer4d.datasets import EXPRESSIONS_6, SyntheticFER4D
from mmfer4d.registry import DATASETS
from mmfer4d.synthesis import synthesize_sequence


def test_counts_and_timing():
    data = DATASETS.build(dict(type='SyntheticFER4D', num_subjects=5,
                               num_frames=60))
    assert len(data) == 30
    assert Counter(d['expression'] for d in data.data_list) == {
        e: 5 for e in EXPRESSIONS_6}
    assert data.subjects[0] == 'F001'
    onsets = set()
    for d in data.data_list:
        env = d['synth_params']['envelope']
        assert env.shape == (60, ) and d['num_frames'] == 60
        assert d['synth_params']['pose'].shape == (60, 3)
        on, apex, off = d['onset_frame'], d['apex_frame'], d['offset_frame']
        assert 0 < on < apex < off < 59
        # Neutral at both ends, full activation at the apex.
        assert env[0] == 0 and env[-1] == 0 and env[off] == 0
        assert env[apex] == 1.0 == env.max()
        assert np.all(np.diff(env[:apex + 1]) >= 0)
        # Slight head motion: a few degrees at most.
        pose = d['synth_params']['pose']
        assert 0 < np.ptp(pose, axis=0).max() < 5
        onsets.add(on)
    assert len(onsets) > 3  # varied timing
    with pytest.raises(ValueError, match='num_frames'):
        SyntheticFER4D(num_frames=4)


def test_sequence_starts_and_ends_neutral_and_peaks_at_apex(face_model):
    data = SyntheticFER4D(classes=('surprise', ), num_subjects=1,
                          num_frames=40)
    d = data.data_list[0]
    params = dict(d['synth_params'], noise_std=0.0,
                  pose=np.zeros((40, 3), np.float32))
    inds = [0, d['onset_frame'], (d['onset_frame'] + d['apex_frame']) // 2,
            d['apex_frame'], d['offset_frame'], 39]
    meshes = synthesize_sequence(params, inds, face_model,
                                 with_texture=False)
    ref = meshes[0].vertices
    move = [np.abs(m.vertices - ref).max() for m in meshes]
    assert move[1] < 0.5 and move[4] < 0.5 and move[5] < 0.5
    assert move[3] > 5 and move[3] == max(move)
    assert 0 < move[2] < move[3]
