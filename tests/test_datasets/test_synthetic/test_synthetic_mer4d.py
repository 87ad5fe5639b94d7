# Copyright (c) mmfer4d contributors. All rights reserved.
from collections import Counter

import numpy as np

from mmfer4d.datasets import MICRO_EXPRESSIONS_5
from mmfer4d.datasets import SyntheticFER3D, SyntheticMER4D
from mmfer4d.synthesis import AU_NAMES, MICRO_PROTOTYPES


def test_micro_expressions_are_weak_short_and_labelled():
    data = SyntheticMER4D(num_subjects=3, samples_per_class=2)
    assert data.metainfo['classes'] == MICRO_EXPRESSIONS_5
    assert len(data) == 3 * 5 * 2
    assert Counter(d['expression'] for d in data.data_list) == {
        c: 6 for c in MICRO_EXPRESSIONS_5}
    assert data.subjects == ['S01', 'S02', 'S03']
    assert data.num_folds is None  # LOSO by default
    macro = SyntheticFER3D(num_subjects=3, intensities=(4, ))
    macro_peak = np.median([d['au_intensities'].max()
                            for d in macro.data_list])
    for d in data.data_list:
        assert d['intensity'] == 1
        au = d['au_intensities']
        assert 0 < au.max() <= 2.0 < macro_peak  # about FACS A-B
        applied = {a for a, on in zip(AU_NAMES, d['au_labels']) if on}
        variants = [set(v) for v in MICRO_PROTOTYPES[d['expression']]]
        assert applied in variants
        # Short: under 0.5 s at 60 fps.
        assert d['offset_frame'] - d['onset_frame'] < 30
        env = d['synth_params']['envelope']
        assert env[0] == 0 and env[-1] == 0
