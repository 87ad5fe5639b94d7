# Copyright (c) mmfer4d contributors. All rights reserved.
"""stop_loader_workers: a finished Runner's persistent workers stop now."""
from types import SimpleNamespace

import torch
from torch.utils.data import DataLoader, Dataset

from mmfer4d.apis.kfold import stop_loader_workers


class _Data(Dataset):

    def __len__(self):
        return 4

    def __getitem__(self, idx):
        return torch.full((2, ), float(idx))


def _loader():
    loader = DataLoader(_Data(), batch_size=2, num_workers=1,
                        persistent_workers=True)
    assert len(list(loader)) == 2  # starts the persistent worker
    return loader


def test_stops_the_workers_of_built_loops():
    train, test = _loader(), _loader()
    workers = [*train._iterator._workers, *test._iterator._workers]
    assert all(w.is_alive() for w in workers)
    runner = SimpleNamespace(
        _train_loop=SimpleNamespace(dataloader=train),
        _val_loop=None,  # not built
        _test_loop=SimpleNamespace(dataloader=test))
    assert stop_loader_workers(runner) == 2
    assert train._iterator is None and test._iterator is None
    assert not any(w.is_alive() for w in workers)
    # Nothing left to stop; a loader used again starts new workers.
    assert stop_loader_workers(runner) == 0
    assert [b.tolist() for b in train] == [[[0., 0.], [1., 1.]],
                                           [[2., 2.], [3., 3.]]]
    assert stop_loader_workers(runner) == 1


def test_loops_given_as_configs_and_loaders_without_workers():
    runner = SimpleNamespace(
        _train_loop=dict(type='EpochBasedTrainLoop'),
        _val_loop=SimpleNamespace(dataloader=DataLoader(_Data())),
        _test_loop=SimpleNamespace(dataloader=dict(batch_size=2)))
    assert stop_loader_workers(runner) == 0
