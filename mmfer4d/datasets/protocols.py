# Copyright (c) mmfer4d contributors. All rights reserved.
"""Subject-independent evaluation protocols.

The 3D/4D FER literature reports person-independent results: no subject's
scans appear in both the training and the test split. Two protocols are
standard: k-fold cross-validation over subjects (10 folds on BU-3DFE since
Wang et al. 2006) repeated with several random partitions, and
leave-one-subject-out (LOSO, the MER protocol on 4DME / CASME).
"""
from collections import Counter, defaultdict
from typing import Dict, Hashable, List, Optional, Sequence

import numpy as np


def subject_folds(subjects: Sequence[Hashable],
                  num_folds: Optional[int] = 10,
                  seed: int = 0,
                  counts: Optional[Dict[Hashable, int]] = None
                  ) -> Dict[Hashable, int]:
    """Assign every subject to one fold, deterministically from a seed.

    Subjects are shuffled with ``seed`` and then placed, largest first, in
    the fold that currently holds the fewest samples, so folds are balanced
    in the number of samples (and, with equal counts, in subjects: sizes
    differ by at most one subject). ``num_folds=None`` gives
    leave-one-subject-out: one fold per subject, in sorted subject order.

    Args:
        subjects (Sequence[Hashable]): Subject ids; duplicates are ignored.
        num_folds (int, optional): Number of folds k. None means LOSO.
            Defaults to 10.
        seed (int): Seed of the partition; repeated cross-validation uses
            several seeds. Defaults to 0.
        counts (dict, optional): Samples per subject, used to balance the
            folds. Defaults to one per subject.

    Returns:
        dict: ``{subject: fold}`` with folds in ``[0, num_folds)``.

    Raises:
        ValueError: If ``num_folds`` is below 2 or above the number of
            subjects.
    """
    unique = sorted(set(subjects), key=str)
    if num_folds is None:
        return {s: i for i, s in enumerate(unique)}
    if num_folds < 2:
        raise ValueError(f'num_folds must be at least 2, got {num_folds}')
    if num_folds > len(unique):
        raise ValueError(f'num_folds={num_folds} exceeds the number of '
                         f'subjects ({len(unique)})')
    counts = counts or {}
    rng = np.random.default_rng(seed)
    order = [unique[i] for i in rng.permutation(len(unique))]
    # A stable sort keeps the seeded order among subjects of equal size.
    order.sort(key=lambda s: -counts.get(s, 1))
    load = np.zeros(num_folds, dtype=np.int64)
    members = np.zeros(num_folds, dtype=np.int64)
    assignment = {}
    for s in order:
        # Fewest samples first, then fewest subjects, then lowest index.
        fold = int(np.lexsort((np.arange(num_folds), members, load))[0])
        assignment[s] = fold
        load[fold] += counts.get(s, 1)
        members[fold] += 1
    return assignment


def draw_subjects(subjects: Sequence[Hashable],
                  num: int,
                  seed: int = 0,
                  groups: Optional[Dict[Hashable, str]] = None
                  ) -> List[Hashable]:
    """A seeded random subset of ``num`` subjects, stratified by group.

    With ``groups`` (e.g. ``{subject: 'F' or 'M'}``) each group receives a
    share of ``num`` proportional to its number of subjects (largest
    remainder; ties go to the group whose name sorts first), and its
    subjects are drawn at random within it. BU-3DFE's 56 women and 44 men
    give 34 women and 26 men for ``num=60``, where the first 60 in sorted
    order would be 56 women and 4 men.

    Args:
        subjects (Sequence[Hashable]): Subject ids; duplicates are ignored.
        num (int): How many to keep, ``1 <= num <= len(subjects)``.
        seed (int): Seed of the draw. Defaults to 0.
        groups (dict, optional): ``{subject: group}`` for stratification.
            Defaults to None (one group).

    Returns:
        list: ``num`` subject ids, sorted.

    Raises:
        ValueError: If ``num`` is out of range or a subject has no group.
    """
    unique = sorted(set(subjects), key=str)
    if not 1 <= num <= len(unique):
        raise ValueError(f'cannot draw {num} of {len(unique)} subjects')
    members = defaultdict(list)
    for s in unique:
        if groups is not None and s not in groups:
            raise ValueError(f'subject {s!r} has no group for stratification')
        members[None if groups is None else groups[s]].append(s)
    names = sorted(members, key=str)
    exact = [num * len(members[g]) / len(unique) for g in names]
    share = [int(x) for x in exact]
    order = sorted(range(len(names)), key=lambda i: (share[i] - exact[i], i))
    for i in order[:num - sum(share)]:
        share[i] += 1
    rng = np.random.default_rng(seed)
    chosen = []
    for name, k in zip(names, share):
        group = members[name]
        chosen += [group[i] for i in rng.permutation(len(group))[:k]]
    return sorted(chosen, key=str)


def fold_summary(data_list: Sequence[dict],
                 classes: Optional[Sequence[str]] = None,
                 fold_of: Optional[Dict[Hashable, int]] = None) -> str:
    """A text table of sample counts per class, per subject and per fold.

    Args:
        data_list (Sequence[dict]): Data infos with ``'gt_label'`` and
            ``'subject'``.
        classes (Sequence[str], optional): Class names for the labels.
        fold_of (dict, optional): ``{subject: fold}``.

    Returns:
        str: Lines ready to print.
    """
    lines = []
    by_class = Counter(info.get('gt_label', -1) for info in data_list)
    lines.append('Samples per class:')
    for label in sorted(by_class):
        name = classes[label] if classes is not None and 0 <= label < len(
            classes) else str(label)
        lines.append(f'    {name:<16}{by_class[label]:>6}')
    by_subject = Counter(info['subject'] for info in data_list)
    per_subject = list(by_subject.values()) or [0]
    lines.append(f'Subjects: {len(by_subject)} (samples per subject: '
                 f'min {min(per_subject)}, max {max(per_subject)})')
    if fold_of:
        by_fold = Counter(fold_of[info['subject']] for info in data_list)
        subj_fold = Counter(fold_of[s] for s in by_subject)
        lines.append('Samples (subjects) per fold:')
        for fold in sorted(by_fold):
            lines.append(
                f'    fold {fold:<3}{by_fold[fold]:>6} ({subj_fold[fold]})')
    return '\n'.join(lines)
