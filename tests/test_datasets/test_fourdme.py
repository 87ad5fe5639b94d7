# Copyright (c) mmfer4d contributors. All rights reserved.
import numpy as np
import pytest

from mmfer4d.datasets import MICRO_EXPRESSIONS_5, FourDMEDataset

ROWS = [
    ('S01', 'c1', '12', '20', '31', 'Positive', 'AU6+AU12'),
    ('S01', 'c2', '5', '/', '', 'Others', 'AU4'),
    ('S02', 'c1', '1', '4', '9', 'negative', 'L4+R7'),
    ('S02', 'c2', '1', '2', '3', 'Surprise', 'AU1+AU2'),
    ('S03', 'c1', '1', '2', '3', 'repression', '14'),
    ('S03', 'c2', '1', '2', '3', 'other', ''),
    ('S03', 'c3', '1', '2', '3', 'happiness', 'AU12'),  # not a class
    ('S04', 'gone', '1', '2', '3', 'Positive', 'AU12'),  # no frames
]


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp('4DME')
    lines = ['Subject,Clip,Onset,Apex,Offset,Emotion,AUs']
    for row in ROWS:
        lines.append(','.join(row))
        if row[1] == 'gone':
            continue
        clip = root / row[0] / row[1]
        clip.mkdir(parents=True)
        for n in range(10, 34, 2):  # frames 10, 12, ..., 32
            (clip / f'{n:04d}.obj').touch()
    (root / 'labels.csv').write_text('\n'.join(lines) + '\n')
    return str(root)


def test_clips(root):
    with pytest.warns(UserWarning, match='1 labelled clips'):
        ds = FourDMEDataset(data_root=root)
    assert ds.CLASSES == MICRO_EXPRESSIONS_5
    assert len(ds) == 6 and ds.num_dropped == 2
    assert ds.metainfo['au_names'] == ('AU1', 'AU2', 'AU4', 'AU6', 'AU7',
                                       'AU12', 'AU14')
    first = ds.get_data_info(0)
    assert (first['subject'], first['clip'], first['expression']) == (
        'S01', 'c1', 'positive')
    assert first['num_frames'] == 12
    assert first['frame_paths'][0].endswith('S01/c1/0010.obj')
    # Frame numbers 12, 20, 31 -> indices of frames 12, 20 and 30/32.
    assert (first['onset_frame'], first['apex_frame']) == (1, 5)
    assert first['offset_frame'] in (10, 11)
    np.testing.assert_array_equal(first['au_labels'],
                                  [0, 0, 0, 1, 0, 1, 0])
    second = ds.get_data_info(1)
    assert second['expression'] == 'others'
    assert 'apex_frame' not in second and 'offset_frame' not in second
    labels = [x['expression'] for x in ds.data_list]
    assert labels.count('others') == 2
    assert all(MICRO_EXPRESSIONS_5[x['gt_label']] == x['expression']
               for x in ds.data_list)


def test_loso_and_bad_files(root, tmp_path):
    with pytest.warns(UserWarning):
        held = [
            FourDMEDataset(data_root=root, fold=k, num_folds='loso',
                           split='test').subjects for k in range(3)
        ]
    assert held == [['S01'], ['S02'], ['S03']]
    (tmp_path / 'labels.csv').write_text('subject,clip,emotion\nS1,c,x\n')
    with pytest.raises(ValueError, match=r'missing column.*onset'):
        FourDMEDataset(data_root=str(tmp_path))
    with pytest.raises(FileNotFoundError, match='nope.csv'):
        FourDMEDataset(data_root=str(tmp_path), ann_file='nope.csv')
