# Copyright (c) mmfer4d contributors. All rights reserved.
"""A wrong, empty or missing data_root names the folder and what was
expected in it, for every file-based data set (not "num_folds=2 exceeds the
number of subjects (0)")."""
from contextlib import nullcontext

import pytest

from mmfer4d.datasets import (BosphorusDataset, BP4DDataset, BU3DFEDataset,
                              BU4DFEDataset, FourDMEDataset)

# Each class and a phrase of its expected layout that the error must name.
CLASSES = [
    (BU3DFEDataset, 'F0001_AN01WH_F3D.wrl'),
    (BU4DFEDataset, 'F001/Angry/000.wrl'),
    (BosphorusDataset, 'bs000_E_HAPPY_0.bnt'),
    (BP4DDataset, "frame_pattern '{subject}/{task}/*.obj'"),
    (FourDMEDataset, 'label CSV'),
]
PROTOCOL = dict(fold=0, num_folds=2, split='test')


@pytest.mark.parametrize('cls,layout', CLASSES)
def test_missing_or_unset_root(cls, layout, tmp_path):
    missing = str(tmp_path / 'no_such_folder')
    with pytest.raises(FileNotFoundError) as err:
        cls(data_root=missing, **PROTOCOL)
    assert missing in str(err.value) and 'does not exist' in str(err.value)
    assert layout in str(err.value)
    with pytest.raises(FileNotFoundError, match='data_root is not set'):
        cls(**PROTOCOL)
    a_file = tmp_path / 'scans.zip'
    a_file.write_bytes(b'PK')
    with pytest.raises(FileNotFoundError, match='is a file, not a folder'):
        cls(data_root=str(a_file), **PROTOCOL)


@pytest.mark.parametrize('cls,layout', CLASSES)
def test_empty_root(cls, layout, tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        cls(data_root=str(tmp_path), **PROTOCOL)
    text = str(err.value)
    assert str(tmp_path) in text and layout in text
    assert 'it is empty' in text or 'does not exist' in text  # 4DME's CSV
    assert 'num_folds' not in text


@pytest.mark.parametrize('cls,layout', CLASSES)
def test_wrong_root(cls, layout, tmp_path):
    # The archive's parent folder instead of the data set's root.
    (tmp_path / 'README.txt').write_text('BU-3DFE v1.0')
    (tmp_path / 'BU3DFE_release').mkdir()
    (tmp_path / 'labels.csv').write_text(
        'subject,clip,onset,apex,offset,emotion,AUs\n'
        'S01,clip01,1,2,3,positive,AU12\n')
    with pytest.warns(UserWarning) if cls is FourDMEDataset else \
            nullcontext():
        with pytest.raises(FileNotFoundError) as err:
            cls(data_root=str(tmp_path), **PROTOCOL)
    text = str(err.value)
    assert str(tmp_path) in text and layout in text
    assert "'BU3DFE_release'" in text and 'holds 3 entries' in text
