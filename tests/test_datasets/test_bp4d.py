# Copyright (c) mmfer4d contributors. All rights reserved.
import os.path as osp

import numpy as np
import pytest

from mmfer4d.datasets import BP4D_EMOTIONS, BP4DDataset

SUBJECTS = ['F001', 'F002', 'M001']


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp('BP4D')
    for subject in SUBJECTS:
        for t in range(1, 9):
            seq = root / subject / f'T{t}'
            seq.mkdir(parents=True)
            for n in (9, 10, 100, 1):
                (seq / f'{n:d}.obj').touch()
            flat = root / 'flat' / f'{subject}_T{t}'
            flat.mkdir(parents=True)
            (flat / 'frame_0002.wrl').touch()
            (flat / 'frame_0001.wrl').touch()
    (root / 'F001' / 'T9').mkdir()  # not a task of BP4D
    (root / 'F001' / 'T9' / '1.obj').touch()
    au_dir = root / 'AUCoding' / 'AU_OCC'
    au_dir.mkdir(parents=True)
    header = 'Frame,1,2,4,6,7,10,12,14,15,17,23,24,27\n'
    # F001 T1: AU6 and AU12 in some frame; AU1 only "9" (not coded).
    (au_dir / 'F001_T1.csv').write_text(
        header + '1,9,0,0,0,0,0,0,0,0,0,0,0,1\n'
        '2,0,0,0,1,0,0,1,0,0,0,0,0,0\n'
        '3,0,0,0,0,0,0,1,0,0,0,0,0,0\n')
    (au_dir / 'F002_T1.csv').write_text(header + '5,0,0,0,0,0,0,0,0,0,0,0,'
                                        '0,0\n')
    return str(root)


def test_tasks_to_emotions(root):
    ds = BP4DDataset(data_root=root)
    assert ds.CLASSES == BP4D_EMOTIONS
    assert len(ds) == 3 * 8
    info = ds.get_data_info(0)
    assert (info['subject'], info['task'], info['expression']) == (
        'F001', 'T1', 'happiness')
    assert [osp.basename(p) for p in info['frame_paths']] == [
        '1.obj', '9.obj', '10.obj', '100.obj']
    assert info['num_frames'] == 4
    tasks = {x['task']: x['expression'] for x in ds.data_list}
    assert tasks == dict(T1='happiness', T2='sadness', T3='surprise',
                         T4='embarrassment', T5='fear', T6='pain',
                         T7='anger', T8='disgust')
    assert all(BP4D_EMOTIONS[x['gt_label']] == x['expression']
               for x in ds.data_list)


def test_custom_pattern_and_classes(root):
    ds = BP4DDataset(
        data_root=root,
        frame_pattern='flat/{subject}_{task}/frame_*.wrl',
        classes=('anger', 'disgust', 'fear', 'happiness', 'sadness',
                 'surprise'))
    assert len(ds) == 3 * 6
    assert {x['task'] for x in ds.data_list} == {'T1', 'T2', 'T3', 'T5',
                                                 'T7', 'T8'}
    assert ds.data_list[0]['frame_paths'][0].endswith('frame_0001.wrl')
    with pytest.raises(ValueError, match='unknown field'):
        BP4DDataset(data_root=root, frame_pattern='{person}/{task}/*.obj')


def test_au_occurrence(root):
    with pytest.warns(UserWarning, match='22 sequences have no AU coding'):
        ds = BP4DDataset(
            data_root=root, au_pattern='AUCoding/AU_OCC/{subject}_{task}.csv')
    assert ds.metainfo['au_names'][:4] == ('AU1', 'AU2', 'AU4', 'AU6')
    by_key = {(x['subject'], x['task']): x for x in ds.data_list}
    labels = by_key['F001', 'T1']['au_labels']
    assert labels.dtype == np.int8 and labels.shape == (12, )
    expected = np.zeros(12, np.int8)
    expected[[3, 6]] = 1  # AU6, AU12; AU1 coded 9 is not "present"
    np.testing.assert_array_equal(labels, expected)
    assert not by_key['F002', 'T1']['au_labels'].any()
    assert 'au_labels' not in by_key['M001', 'T1']
    with pytest.raises(ValueError, match='AU99'):
        BP4DDataset(
            data_root=root, classes=('happiness', ),
            au_pattern='AUCoding/AU_OCC/{subject}_{task}.csv',
            au_names=('AU1', 'AU99'))


def test_folds(root):
    held = [
        BP4DDataset(data_root=root, fold=k, num_folds='loso',
                    split='test').subjects for k in range(3)
    ]
    assert held == [[s] for s in SUBJECTS]
    train = BP4DDataset(data_root=root, fold=0, num_folds='loso')
    assert train.subjects == SUBJECTS[1:] and len(train) == 16
