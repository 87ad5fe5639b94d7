# Copyright (c) mmfer4d contributors. All rights reserved.
import pytest

from mmfer4d.datasets import BaseFERDataset, MeshReadError
from mmfer4d.datasets.skipped_sample import (REPLACED_KEY, SkippedSample,
                                             skip_broken_collate)


class ToyDataset(BaseFERDataset):
    """10 subjects (S00-S09; S00-S05 women, S06-S09 men) x 3 classes."""

    def load_raw_data_list(self):
        return [
            dict(gt_label=e, subject=f'S{s:02d}', mesh_path=f'{s}_{e}.wrl',
                 gender='F' if s < 6 else 'M')
            for s in range(10) for e in range(3)
        ]


BROKEN = {'0_0.wrl', '3_1.wrl'}


def _loading(results):
    if results['mesh_path'] in BROKEN:
        raise MeshReadError(results['mesh_path'], 'truncated file')
    return dict(inputs=results['mesh_path'], data_samples=results['gt_label'])


def test_train_and_test_splits_are_subject_disjoint_and_cover_all():
    subjects_seen = []
    for fold in range(5):
        train = ToyDataset(fold=fold, num_folds=5, split='train')
        test = ToyDataset(fold=fold, num_folds=5, split='test')
        assert not set(train.subjects) & set(test.subjects)
        assert len(train) + len(test) == 30
        assert len(test.subjects) == 2
        subjects_seen += test.subjects
    assert sorted(subjects_seen) == [f'S{s:02d}' for s in range(10)]


def test_subject_lists_and_errors():
    ds = ToyDataset(subjects=['S02', 'S07'])
    assert ds.subjects == ['S02', 'S07']
    assert ds.subject_selection == '2 of 10 subjects, as listed'
    assert ToyDataset(subjects='all').subjects == ToyDataset().subjects
    with pytest.raises(ValueError, match='not found'):
        ToyDataset(subjects=['S99'])
    with pytest.raises(ValueError, match='asks for 11 subjects'):
        ToyDataset(subjects=11)
    with pytest.raises(ValueError, match='num'):
        ToyDataset(subjects=dict(count=3))
    with pytest.raises(ValueError, match="'all'"):
        ToyDataset(subjects='first')
    with pytest.raises(ValueError, match='fold must be'):
        ToyDataset(fold=5, num_folds=5)
    with pytest.raises(ValueError, match='split'):
        ToyDataset(split='val')


def test_seeded_draw_is_stratified_by_gender_and_not_the_sorted_head():
    # 6 women and 4 men: 5 subjects are 3 women and 2 men (largest
    # remainder of 3.0 / 2.0), never the first five sorted (all women).
    draws = set()
    for seed in range(8):
        ds = ToyDataset(subjects=dict(num=5, seed=seed))
        women = [s for s in ds.subjects if int(s[1:]) < 6]
        assert len(ds.subjects) == 5 and len(women) == 3
        assert f'seed {seed}' in ds.subject_selection
        assert '3 F' in ds.subject_selection and '2 M' in ds.subject_selection
        draws.add(tuple(ds.subjects))
    assert len(draws) > 1
    # The same seed gives the same subjects in both splits of a fold.
    a = ToyDataset(subjects=5, fold=0, num_folds=5, split='train')
    b = ToyDataset(subjects=5, fold=0, num_folds=5, split='test')
    assert sorted(a.subjects + b.subjects) == ToyDataset(subjects=5).subjects
    plain = ToyDataset(subjects=dict(num=5, stratify=None))
    assert 'stratified' not in plain.subject_selection


def test_loso_fold_of_a_listed_subset():
    test = ToyDataset(fold=1, num_folds='loso', split='test',
                      subjects=['S01', 'S04', 'S08'])
    assert test.subjects == ['S04']


def test_repr_summarises_protocol():
    text = repr(ToyDataset(fold=0, num_folds=5, split='test', subjects=5))
    assert 'fold 0 of 5' in text and "'test'" in text
    assert 'Samples per class' in text
    assert 'Subjects kept: \t5 of 10 subjects, random draw (seed 0)' in text


def test_broken_sample_raises_unless_skipping():
    data = ToyDataset(pipeline=[_loading])
    assert data[1]['inputs'] == '0_1.wrl'
    with pytest.raises(MeshReadError, match='0_0.wrl'):
        data[0]
    with pytest.raises(ValueError, match='skip_broken'):
        ToyDataset(skip_broken='ignore')


def test_dropping_returns_a_marker_and_never_another_sample():
    for split in ('train', 'test'):
        data = ToyDataset(skip_broken=True, pipeline=[_loading], split=split)
        marker = data[0]
        assert isinstance(marker, SkippedSample)
        assert marker.files == ['0_0.wrl'] and marker.index == 0
        assert marker.subject == 'S00' and marker.action == 'dropped'
        assert 'truncated file' in marker.error
        assert data.num_skipped == 1
    batch = skip_broken_collate([data[i] for i in range(12)])
    assert batch['inputs'] == [f'{s}_{e}.wrl' for s in range(4)
                               for e in range(3)
                               if f'{s}_{e}.wrl' not in BROKEN]
    assert [r['files'] for r in batch['skipped_samples']] == [['0_0.wrl'],
                                                              ['3_1.wrl']]
    empty = skip_broken_collate([data[0]])
    assert empty['inputs'] == [] and len(empty['skipped_samples']) == 1


def test_replacing_only_in_training_and_reported():
    data = ToyDataset(skip_broken='replace', pipeline=[_loading])
    sample = data[0]
    assert sample['inputs'] not in BROKEN
    record, = sample[REPLACED_KEY]
    assert record['files'] == ['0_0.wrl'] and record['action'] == 'replaced'
    batch = skip_broken_collate([sample, data[1]])
    assert len(batch['inputs']) == 2
    assert [r['action'] for r in batch['skipped_samples']] == ['replaced']
    with pytest.raises(ValueError, match="'replace' on a test split"):
        ToyDataset(skip_broken='replace', split='test')
    with pytest.raises(ValueError, match="'replace' on a test split"):
        ToyDataset(skip_broken='replace', test_mode=True)
