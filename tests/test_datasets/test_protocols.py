# Copyright (c) mmfer4d contributors. All rights reserved.
import re
from collections import Counter

import pytest

from mmfer4d.datasets import fold_summary, subject_folds


def _subjects(n):
    return [f'F{i:04d}' for i in range(n)]


def test_every_subject_in_exactly_one_fold():
    subjects = _subjects(23)
    folds = subject_folds(subjects, num_folds=10, seed=3)
    assert set(folds) == set(subjects)
    assert set(folds.values()) == set(range(10))
    # 23 subjects over 10 folds: sizes 2 or 3, never more apart.
    sizes = Counter(folds.values())
    assert max(sizes.values()) - min(sizes.values()) <= 1


def test_deterministic_from_seed_and_seed_changes_partition():
    subjects = _subjects(30)
    assert subject_folds(subjects, 5, seed=0) == subject_folds(
        list(reversed(subjects)), 5, seed=0)
    assert subject_folds(subjects, 5, seed=0) != subject_folds(
        subjects, 5, seed=1)


def test_balanced_by_sample_counts():
    subjects = _subjects(12)
    counts = {s: (30 if i < 2 else 5) for i, s in enumerate(subjects)}
    folds = subject_folds(subjects, 3, seed=0, counts=counts)
    load = Counter()
    for s, f in folds.items():
        load[f] += counts[s]
    # 110 samples: the two big subjects must land in different folds.
    assert folds[subjects[0]] != folds[subjects[1]]
    assert max(load.values()) - min(load.values()) <= 5


def test_loso_gives_one_fold_per_subject():
    subjects = ['b', 'a', 'c', 'a']
    assert subject_folds(subjects, None) == {'a': 0, 'b': 1, 'c': 2}


@pytest.mark.parametrize('num_folds', [1, 0, 6])
def test_bad_fold_counts_raise(num_folds):
    with pytest.raises(ValueError):
        subject_folds(_subjects(5), num_folds)


def test_fold_summary_counts():
    data = [dict(gt_label=0, subject='a'), dict(gt_label=1, subject='a'),
            dict(gt_label=1, subject='b')]
    text = fold_summary(data, classes=('anger', 'disgust'),
                        fold_of={'a': 0, 'b': 1})
    assert 'anger' in text and 'disgust' in text
    assert 'Subjects: 2' in text
    assert re.search(r'fold 0\s+2 \(1\)', text)
    assert re.search(r'fold 1\s+1 \(1\)', text)
