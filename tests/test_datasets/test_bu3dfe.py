# Copyright (c) mmfer4d contributors. All rights reserved.
import pytest
from mmengine.registry import init_default_scope

from mmfer4d.datasets import BU3DFEDataset, EXPRESSIONS_6, EXPRESSIONS_7
from mmfer4d.registry import DATASETS

SUBJECTS = ['F0001', 'F0002', 'F0003', 'F0004', 'M0001', 'M0002', 'M0003',
            'M0004']
CODES = ['AN', 'DI', 'FE', 'HA', 'SA', 'SU']


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    """A BU-3DFE tree of empty files: indexing must not read meshes.

    Named as the data set ships (Yin et al. 2006 and its readme): one
    folder per subject, files ``{subject}_{EX}{intensity}{race}_{kind}``
    with EX in AN DI FE HA SA SU (intensities 01-04) or NE00, one race code
    per subject, ``_F3D.wrl`` + ``.bnd`` (83 landmarks) + ``.bmp``
    (texture), ``_RAW.wrl`` + ``.pse``, and the 2D image ``_F2D.bmp``.
    """
    root = tmp_path_factory.mktemp('BU3DFE')
    for k, subject in enumerate(SUBJECTS):
        folder = root / subject
        folder.mkdir()
        race = ['WH', 'AE', 'BL', 'LA'][k % 4]
        stems = [f'{subject}_{c}0{i}{race}' for c in CODES
                 for i in range(1, 5)] + [f'{subject}_NE00{race}']
        for stem in stems:
            for suffix in ('_F3D.wrl', '_F3D.bnd', '_F3D.bmp', '_RAW.wrl',
                           '_RAW.pse', '_RAW.bmp', '_F2D.bmp'):
                (folder / (stem + suffix)).touch()
        (folder / 'notes.txt').touch()
        (folder / f'{subject}_XX01WH_F3D.wrl').touch()  # unknown code
    (root / 'README').touch()
    (root / 'other').mkdir()
    (root / 'other' / 'F0009_AN01WH_F3D.wrl').touch()
    return str(root)


def test_default_protocol(root):
    ds = BU3DFEDataset(data_root=root)
    assert len(ds) == 8 * 6 * 2
    assert ds.CLASSES == EXPRESSIONS_6
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        name = info['mesh_path'].rsplit('/', 1)[1]
        assert name.startswith(info['subject'])
        assert name.endswith('_F3D.wrl')
        assert CODES[info['gt_label']] == name[6:8]
        assert EXPRESSIONS_6[info['gt_label']] == info['expression']
        assert info['intensity'] == int(name[8:10]) and info['intensity'] in (
            3, 4)
        assert info['landmark_path'] == info['mesh_path'][:-4] + '.bnd'
        assert info['gender'] == info['subject'][0]
    assert ds.subjects == SUBJECTS


def test_seven_classes_and_intensities(root):
    ds = BU3DFEDataset(data_root=root, classes=7, intensities=(1, 2, 3, 4))
    assert ds.CLASSES == EXPRESSIONS_7
    assert len(ds) == 8 * (6 * 4 + 1)
    neutral = [x for x in ds.data_list if x['gt_label'] == 6]
    assert len(neutral) == 8
    assert all(x['intensity'] == 0 and 'NE00' in x['mesh_path']
               for x in neutral)
    ds = BU3DFEDataset(data_root=root, intensities=(4, ))
    assert {x['intensity'] for x in ds.data_list} == {4}
    ds = BU3DFEDataset(data_root=root, classes=('happiness', 'neutral'))
    assert sorted({x['gt_label'] for x in ds.data_list}) == [0, 1]
    assert len(ds) == 8 * 3


def test_raw_meshes(root):
    ds = BU3DFEDataset(data_root=root, mesh_kind='RAW')
    assert len(ds) == 96
    assert all(x['mesh_path'].endswith('_RAW.wrl') and
               'landmark_path' not in x for x in ds.data_list)


def test_subject_subsets(root):
    ds = BU3DFEDataset(data_root=root, subjects=['F0002', 'M0003'])
    assert ds.subjects == ['F0002', 'M0003'] and len(ds) == 24
    assert '2 of 8 subjects, as listed' in repr(ds)
    # A number is a seeded draw stratified by sex, not the sorted head
    # (F0001-F0004 + M0001).
    ds = BU3DFEDataset(data_root=root, subjects=5)
    assert ds.subjects != SUBJECTS[:5]
    assert sum(s[0] == 'F' for s in ds.subjects) == 3
    assert 'Subjects kept: \t5 of 8 subjects, random draw (seed 0) ' \
        'stratified by gender (3 F, 2 M)' in repr(ds)
    again = BU3DFEDataset(data_root=root, subjects=dict(num=5, seed=0))
    assert again.subjects == ds.subjects
    with pytest.raises(ValueError, match='F0099'):
        BU3DFEDataset(data_root=root, subjects=['F0099'])


def test_sixty_of_the_hundred_subjects_keep_the_sex_ratio(tmp_path):
    # The real subject list: F0001-F0056 and M0001-M0044, one scan each.
    for subject in [f'F{i:04d}' for i in range(1, 57)] + \
            [f'M{i:04d}' for i in range(1, 45)]:
        (tmp_path / subject).mkdir()
        (tmp_path / subject / f'{subject}_HA04WH_F3D.wrl').touch()
    sorted_head = sorted(p.name for p in tmp_path.iterdir())[:60]
    assert sum(s[0] == 'M' for s in sorted_head) == 4  # what it used to be
    seen = set()
    for seed in range(3):
        ds = BU3DFEDataset(data_root=str(tmp_path),
                           subjects=dict(num=60, seed=seed))
        women = [s for s in ds.subjects if s[0] == 'F']
        assert len(ds.subjects) == 60 and len(women) == 34
        assert '(34 F, 26 M)' in ds.subject_selection
        seen.add(tuple(ds.subjects))
    assert len(seen) == 3
    fold = [BU3DFEDataset(data_root=str(tmp_path), subjects=60, fold=0,
                          split=split).subjects
            for split in ('train', 'test')]
    assert sorted(fold[0] + fold[1]) == BU3DFEDataset(
        data_root=str(tmp_path), subjects=60).subjects


def test_folds_are_subject_independent(root):
    test_subjects, tested = [], 0
    for fold in range(4):
        train = BU3DFEDataset(data_root=root, fold=fold, num_folds=4)
        test = BU3DFEDataset(
            data_root=root, fold=fold, num_folds=4, split='test')
        assert not set(train.subjects) & set(test.subjects)
        assert sorted(train.subjects + test.subjects) == SUBJECTS
        assert len(train) + len(test) == 96
        assert len(test.subjects) == 2  # balanced
        test_subjects += test.subjects
        tested += len(test)
    assert sorted(test_subjects) == SUBJECTS and tested == 96
    again = BU3DFEDataset(data_root=root, fold=1, num_folds=4, split='test')
    first = BU3DFEDataset(data_root=root, fold=1, num_folds=4, split='test')
    assert again.data_list == first.data_list
    partitions = {
        tuple(BU3DFEDataset(
            data_root=root, fold=0, num_folds=4, split='test',
            seed=seed).subjects)
        for seed in range(6)
    }
    assert len(partitions) > 1  # repeated CV: the seed changes the split


def test_loso(root):
    held = [
        BU3DFEDataset(
            data_root=root, fold=k, num_folds='loso', split='test').subjects
        for k in range(8)
    ]
    assert held == [[s] for s in SUBJECTS]
    with pytest.raises(ValueError, match='fold'):
        BU3DFEDataset(data_root=root, fold=8, num_folds='loso')


def test_summary_and_registry(root):
    init_default_scope('mmfer4d')
    ds = DATASETS.build(
        dict(type='BU3DFEDataset', data_root=root, fold=0, num_folds=4,
             split='test'))
    text = repr(ds)
    assert 'BU3DFEDataset' in text and 'happiness' in text
    assert 'fold 0 of 4' in text and 'Samples per class' in text
    assert f'Number of samples: \t{len(ds)}' in text


def test_bad_arguments(root, tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.*does not exist'):
        BU3DFEDataset(data_root=str(tmp_path / 'missing'))
    with pytest.raises(ValueError, match='6 or 7'):
        BU3DFEDataset(data_root=root, classes=5)
    with pytest.raises(ValueError, match='mesh_kind'):
        BU3DFEDataset(data_root=root, mesh_kind='OBJ')
    with pytest.raises(ValueError, match='intensities'):
        BU3DFEDataset(data_root=root, intensities=(0, 5))
    with pytest.raises(ValueError, match='contempt'):
        BU3DFEDataset(data_root=root, classes=('anger', 'contempt'))
