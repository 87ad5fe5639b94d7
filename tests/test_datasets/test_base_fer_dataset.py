# Copyright (c) mmfer4d contributors. All rights reserved.
import pytest

from mmfer4d.datasets import BaseFERDataset, MeshReadError


class ToyDataset(BaseFERDataset):

    def __init__(self, *args, fail_on=(), **kwargs):
        self.fail_on = set(fail_on)
        super().__init__(*args, **kwargs)

    def load_raw_data_list(self):
        return [
            dict(gt_label=e, subject=f'S{s:02d}', mesh_path=f'{s}_{e}.wrl')
            for s in range(10) for e in range(3)
        ]


def _loading(results):
    if results['mesh_path'] in results['fail_on']:
        raise MeshReadError(results['mesh_path'], 'truncated file')
    return results


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


def test_loso_and_subject_subset():
    test = ToyDataset(fold=3, num_folds='loso', split='test', subjects=4)
    assert test.subjects == ['S03']
    with pytest.raises(ValueError, match='not found'):
        ToyDataset(subjects=['S99'])
    with pytest.raises(ValueError, match='fold must be'):
        ToyDataset(fold=5, num_folds=5)
    with pytest.raises(ValueError, match='split'):
        ToyDataset(split='val')


def test_repr_summarises_protocol():
    text = repr(ToyDataset(fold=0, num_folds=5, split='test'))
    assert 'fold 0 of 5' in text and "'test'" in text
    assert 'Samples per class' in text


def test_broken_sample_raises_unless_skipping():
    kwargs = dict(pipeline=[_loading])
    data = ToyDataset(**kwargs)
    data.data_list[0]['fail_on'] = {'0_0.wrl'}
    for info in data.data_list[1:]:
        info['fail_on'] = set()
    with pytest.raises(MeshReadError, match='0_0.wrl'):
        data[0]

    skipping = ToyDataset(skip_broken=True, **kwargs)
    for info in skipping.data_list:
        info['fail_on'] = {'0_0.wrl'}
    sample = skipping[0]
    assert sample['mesh_path'] != '0_0.wrl'
    assert skipping.num_skipped >= 1
