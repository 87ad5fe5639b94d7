# Copyright (c) mmfer4d contributors. All rights reserved.
import os.path as osp

import pytest

from mmfer4d.datasets import BU4DFEDataset

SUBJECTS = ['F001', 'F002', 'M001', 'M002']
FOLDERS = ['Angry', 'Disgust', 'Fear', 'Happy', 'Sad', 'Surprise']


@pytest.fixture(scope='module')
def roots(tmp_path_factory):
    """A BU-4DFE tree of empty files and its landmark tree, as shipped.

    Yin et al. (FG 2008) and the release: ``{subject}/{Expression}/`` with
    the six expression folders, one ``NNN.wrl`` (VRML) + ``NNN.bmp``
    (texture) per frame, and the 83-landmark release as a parallel tree
    ``BU4DFE_BND_V1.1/{subject}/{Expression}/NNN.bnd``. Unpadded numbers are
    added to check the numeric frame order.
    """
    root = tmp_path_factory.mktemp('BU4DFE')
    for subject in SUBJECTS:
        for folder in FOLDERS:
            seq = root / 'data' / subject / folder
            seq.mkdir(parents=True)
            bnd = root / 'BU4DFE_BND_V1.1' / subject / folder
            bnd.mkdir(parents=True)
            # Unpadded numbers too: '2.wrl' must come before '10.wrl'.
            for name in ('000', '001', '2', '10', '011'):
                (seq / f'{name}.wrl').touch()
                (seq / f'{name}.bmp').touch()
                if not (subject == 'M002' and folder == 'Sad'
                        and name == '10'):
                    (bnd / f'{name}.bnd').touch()
    (root / 'data' / 'F001' / 'Neutral').mkdir()  # not a sequence folder
    return str(root / 'data'), str(root / 'BU4DFE_BND_V1.1')


def test_sequences(roots):
    ds = BU4DFEDataset(data_root=roots[0])
    assert len(ds) == 4 * 6
    info = ds.get_data_info(0)
    assert info['subject'] == 'F001' and info['expression'] == 'anger'
    assert info['num_frames'] == 5
    assert [osp.basename(p) for p in info['frame_paths']] == [
        '000.wrl', '001.wrl', '2.wrl', '10.wrl', '011.wrl']
    assert 'landmark_paths' not in info
    for x in ds.data_list:
        assert osp.basename(osp.dirname(x['frame_paths'][0])) == \
            FOLDERS[x['gt_label']]
        assert x['intensity'] == -1


def test_landmark_tree(roots):
    with pytest.warns(UserWarning, match='1 sequences lack a .bnd'):
        ds = BU4DFEDataset(data_root=roots[0], bnd_root=roots[1])
    assert ds.num_missing_landmarks == 1
    for x in ds.data_list:
        if x['subject'] == 'M002' and x['expression'] == 'sadness':
            assert 'landmark_paths' not in x
        else:
            assert [p.replace('/BU4DFE_BND_V1.1/', '/data/')[:-4] + '.wrl'
                    for p in x['landmark_paths']] == x['frame_paths']


def test_classes_folds_and_summary(roots):
    ds = BU4DFEDataset(data_root=roots[0], classes=('happiness', 'surprise'))
    assert len(ds) == 8 and {x['gt_label'] for x in ds.data_list} == {0, 1}
    test = BU4DFEDataset(
        data_root=roots[0], fold=1, num_folds=2, split='test', seed=3)
    train = BU4DFEDataset(data_root=roots[0], fold=1, num_folds=2, seed=3)
    assert sorted(test.subjects + train.subjects) == SUBJECTS
    assert not set(test.subjects) & set(train.subjects)
    assert 'fold 1 of 2' in repr(test)
    with pytest.raises(ValueError, match='neutral'):
        BU4DFEDataset(data_root=roots[0], classes=('anger', 'neutral'))
