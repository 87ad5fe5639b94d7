# Copyright (c) mmfer4d contributors. All rights reserved.
import os.path as osp

import numpy as np
import pytest

from mmfer4d.datasets import (BP4D_AU_NAMES, BP4D_EMOTIONS, BP4DDataset,
                              SampleFrames, read_au_occurrence)

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
    # AU occurrence files as the data set ships them (FACS coding of a
    # segment of each task): a header of the frame column and AU numbers,
    # then one row per coded frame, 0 absent / 1 present / 9 not coded.
    # F001 T1's meshes are frames 1, 9, 10 and 100; frames 9 and 10 are
    # coded (100 is past the segment, 1 before it).
    au_dir = root / 'AUCoding' / 'AU_OCC'
    au_dir.mkdir(parents=True)
    header = ','.join(['0'] + [str(a) for a in range(1, 28)]) + '\n'

    def row(frame, present=(), unknown=()):
        codes = ['1' if a in present else '9' if a in unknown else '0'
                 for a in range(1, 28)]
        return ','.join([str(frame)] + codes) + '\n'

    (au_dir / 'F001_T1.csv').write_text(
        header + row(9, present=(6, 12), unknown=(1, 25, 26)) +
        row(10, present=(12, ), unknown=(4, )))
    # AU columns in another order and only some of them: read by name.
    (au_dir / 'F002_T1.csv').write_text(
        '0,24,23,17,15,14,12,10,7,6,4,2,1\r\n'
        '10,1,0,0,0,0,0,0,0,0,0,0,9\r\n')
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


def test_per_frame_au_occurrence(root):
    with pytest.warns(UserWarning, match='22 sequences have no AU coding'):
        ds = BP4DDataset(
            data_root=root, au_pattern='AUCoding/AU_OCC/{subject}_{task}.csv')
    assert ds.metainfo['au_names'] == BP4D_AU_NAMES
    assert BP4D_AU_NAMES == ('AU1', 'AU2', 'AU4', 'AU6', 'AU7', 'AU10',
                             'AU12', 'AU14', 'AU15', 'AU17', 'AU23', 'AU24')
    by_key = {(x['subject'], x['task']): x for x in ds.data_list}
    f001 = by_key['F001', 'T1']
    assert [osp.basename(p) for p in f001['frame_paths']] == [
        '1.obj', '9.obj', '10.obj', '100.obj']
    labels = f001['frame_au_labels']
    assert labels.dtype == np.int8 and labels.shape == (4, 12)
    assert f001['num_coded_frames'] == 2
    unknown = np.full(12, -1, np.int8)
    frame9 = np.zeros(12, np.int8)
    frame9[[3, 6]] = 1  # AU6, AU12
    frame9[0] = -1  # AU1 coded 9
    frame10 = np.zeros(12, np.int8)
    frame10[6] = 1
    frame10[2] = -1  # AU4 coded 9
    np.testing.assert_array_equal(labels,
                                  [unknown, frame9, frame10, unknown])
    f002 = by_key['F002', 'T1']['frame_au_labels']
    expected = np.full((4, 12), -1, np.int8)
    expected[2] = 0
    expected[2, 11] = 1  # AU24
    expected[2, 0] = -1  # AU1 coded 9
    np.testing.assert_array_equal(f002, expected)
    assert 'frame_au_labels' not in by_key['M001', 'T1']
    assert 'au_labels' not in f001  # one vector per frame, not per sequence
    with pytest.raises(ValueError, match='AU99'):
        BP4DDataset(
            data_root=root, classes=('happiness', ),
            au_pattern='AUCoding/AU_OCC/{subject}_{task}.csv',
            au_names=('AU1', 'AU99'))


def test_sampled_frames_keep_their_own_au_labels(root):
    with pytest.warns(UserWarning):
        ds = BP4DDataset(
            data_root=root, classes=('happiness', ),
            au_pattern='AUCoding/AU_OCC/{subject}_{task}.csv',
            pipeline=[SampleFrames(num_frames=2, test_mode=True)])
    out = ds[0]  # F001 T1: frames 1, 9, 10, 100; middles of 2 segments
    np.testing.assert_array_equal(out['frame_inds'], [1, 3])
    np.testing.assert_array_equal(out['au_labels'],
                                  out['frame_au_labels'][[1, 3]])
    assert out['au_labels'].shape == (2, 12)


def test_bad_au_files(tmp_path):
    path = tmp_path / 'F001_T1.csv'
    header = '0,1,2,4\n'
    for body, match in [('5,0,1\n', 'line 2 has 3 values'),
                        ('5,0,2,0\n', 'code 2 for AU2'),
                        ('5,0,x,0\n', 'not a number'),
                        ('', None)]:
        path.write_text(header + body if body else '')
        with pytest.raises(ValueError, match=match or 'empty'):
            read_au_occurrence(str(path), ('AU1', 'AU2', 'AU4'))
    path.write_text(header + '7,9,1,0\n8,0,0,1\n')
    frames, labels = read_au_occurrence(str(path), ('AU4', 'AU1'))
    np.testing.assert_array_equal(frames, [7, 8])
    np.testing.assert_array_equal(labels, [[0, -1], [1, 0]])


def test_folds(root):
    held = [
        BP4DDataset(data_root=root, fold=k, num_folds='loso',
                    split='test').subjects for k in range(3)
    ]
    assert held == [[s] for s in SUBJECTS]
    train = BP4DDataset(data_root=root, fold=0, num_folds='loso')
    assert train.subjects == SUBJECTS[1:] and len(train) == 16
