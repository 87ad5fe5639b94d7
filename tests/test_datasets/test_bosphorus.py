# Copyright (c) mmfer4d contributors. All rights reserved.
import numpy as np
import pytest

from mmfer4d.datasets import BosphorusDataset

SUBJECTS = ['bs000', 'bs001', 'bs002', 'bs003']
EMOTIONS = ['ANGER', 'DISGUST', 'FEAR', 'HAPPY', 'SADNESS', 'SURPRISE']
OTHERS = ['N_N_0', 'N_N_1', 'LFAU_12L_0', 'LFAU_12LW_0', 'UFAU_2_0',
          'CAU_A22A25_0', 'YR_R10_0', 'PR_SU_0', 'CR_RD_0', 'O_EYE_0',
          'O_GLASSES_0']


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    """A Bosphorus tree of empty files, named as the database ships.

    Savran et al. (BIOID 2008) and the database's file list: one folder
    per subject, ``{subject}_{category}_{code}_{index}`` with ``.bnt``
    (range data), ``.png`` (texture), ``.lm3`` / ``.lm2`` (3D / 2D
    landmarks); categories E (emotions), N (neutral), LFAU / UFAU / CAU
    (action units, ``12LW``: AU12 on the left, weak), YR / PR / CR (poses)
    and O (occlusions).
    """
    root = tmp_path_factory.mktemp('Bosphorus')
    for subject in SUBJECTS:
        folder = root / subject
        folder.mkdir()
        for stem in [f'E_{e}_0' for e in EMOTIONS] + OTHERS:
            (folder / f'{subject}_{stem}.bnt').touch()
            (folder / f'{subject}_{stem}.png').touch()
            if subject != 'bs003':
                (folder / f'{subject}_{stem}.lm3').touch()
        (folder / f'{subject}_E_HAPPY_0.lm2').touch()
    return str(root)


def test_emotions_only_by_default(root):
    ds = BosphorusDataset(data_root=root)
    assert len(ds) == 4 * 6
    for x in ds.data_list:
        assert x['category'] == 'E'
        assert EMOTIONS[x['gt_label']] == x['code']
        assert x['mesh_path'].endswith(f"{x['subject']}_E_{x['code']}_0.bnt")
        assert ('landmark_path' in x) == (x['subject'] != 'bs003')
        assert 'au_labels' not in x
    assert ds.subjects == SUBJECTS


def test_neutral_pose_occlusion(root):
    ds = BosphorusDataset(data_root=root, classes=7)
    neutral = [x for x in ds.data_list if x['expression'] == 'neutral']
    assert len(ds) == 4 * 8 and len(neutral) == 8
    assert all(x['gt_label'] == 6 and x['intensity'] == 0 for x in neutral)
    ds = BosphorusDataset(
        data_root=root, include_pose=True, include_occlusion=True)
    extra = [x for x in ds.data_list if x['gt_label'] == -1]
    assert len(extra) == 4 * 5
    assert {x['category'] for x in extra} == {'YR', 'PR', 'CR', 'O'}


def test_au_scans(root):
    ds = BosphorusDataset(data_root=root, classes=7, include_au_scans=True)
    assert ds.metainfo['au_names'] == ('AU2', 'AU12', 'AU22', 'AU25')
    au = {(x['subject'], x['code']): x for x in ds.data_list
          if x['category'] in ('LFAU', 'UFAU', 'CAU')}
    assert len(au) == 4 * 4
    np.testing.assert_array_equal(au['bs000', '12L']['au_labels'],
                                  [0, 1, 0, 0])
    np.testing.assert_array_equal(au['bs000', '12LW']['au_labels'],
                                  [0, 1, 0, 0])
    np.testing.assert_array_equal(au['bs001', 'A22A25']['au_labels'],
                                  [0, 0, 1, 1])
    assert au['bs001', 'A22A25']['au_labels'].dtype == np.int8
    assert all(x['gt_label'] == -1 for x in au.values())
    for x in ds.data_list:
        if x['category'] == 'N':
            assert not x['au_labels'].any()
        elif x['category'] == 'E':
            assert 'au_labels' not in x
    ds = BosphorusDataset(
        data_root=root, include_au_scans=True, au_names=('AU12', 'AU25'))
    au = [x for x in ds.data_list if x['code'] == 'A22A25']
    np.testing.assert_array_equal(au[0]['au_labels'], [0, 1])


def test_folds(root):
    seen = []
    for fold in range(2):
        test = BosphorusDataset(
            data_root=root, fold=fold, num_folds=2, split='test')
        train = BosphorusDataset(data_root=root, fold=fold, num_folds=2)
        assert not set(test.subjects) & set(train.subjects)
        seen += test.subjects
    assert sorted(seen) == SUBJECTS
