# Copyright (c) mmfer4d contributors. All rights reserved.
"""Pieces of ``RandomStateHook`` (the end-to-end kill-and-resume test is
``tests/test_engine/test_exact_resume.py``)."""
import io
import random
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from mmfer4d.engine.hooks import EpochSeededWorkerInit, RandomStateHook
from mmfer4d.engine.hooks.random_state_hook import (
    CHECKPOINT_KEY, capture_global_random_states, restore_global_random_states,
    worker_seed)
from mmfer4d.utils import safe_load_checkpoint


def _draws():
    return (np.random.rand(3).tolist(), np.random.normal(),
            random.random(), random.gauss(0, 1), torch.rand(3).tolist())


class _Model(torch.nn.Module):

    def __init__(self):
        super().__init__()
        self.inner = torch.nn.Linear(2, 2)
        self.inner.gen = torch.Generator().manual_seed(5)


def _runner(resume):
    return SimpleNamespace(model=_Model(), _resume=resume, epoch=1,
                           train_dataloader=None, seed=0)


def _through_safe_loader(checkpoint):
    buf = io.BytesIO()
    torch.save(checkpoint, buf)
    buf.seek(0)
    return safe_load_checkpoint(buf, filename='random_states.pth')


def test_global_states_round_trip_through_the_safe_loader():
    np.random.seed(1)
    random.seed(2)
    np.random.normal()  # a cached Gaussian in numpy's state
    random.gauss(0, 1)  # and in Python's
    states = _through_safe_loader(capture_global_random_states())
    expected = _draws()
    _draws()
    restore_global_random_states(states)
    assert _draws() == expected


@pytest.mark.parametrize('resume', [True, False])
def test_resume_restores_states_and_load_from_does_not(resume):
    hook = RandomStateHook()
    runner = _runner(resume)
    checkpoint = {}
    hook.before_save_checkpoint(runner, checkpoint)
    expected = _draws()
    gen_draw = torch.rand(2, generator=runner.model.inner.gen)
    checkpoint = _through_safe_loader(checkpoint)
    (states, ) = checkpoint[CHECKPOINT_KEY]['ranks']
    assert set(states['model_generators']) == {'inner.gen'}

    hook.after_load_checkpoint(runner, checkpoint)
    hook.before_train(runner)
    if resume:
        assert _draws() == expected
        assert torch.equal(
            torch.rand(2, generator=runner.model.inner.gen), gen_draw)
    else:
        assert _draws() != expected


def test_validation_does_not_move_the_training_generators():
    hook = RandomStateHook()
    runner = _runner(False)
    states = capture_global_random_states()
    expected = _draws()
    restore_global_random_states(states)
    hook.before_val(runner)
    _draws()  # what a validation might draw
    hook.after_val(runner)
    assert _draws() == expected


class _RandomNumbers(Dataset):
    """Each sample: a draw of numpy's, Python's and torch's generators
    (as a random transform in a worker would make)."""

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return torch.tensor(
            [np.random.rand(), random.random(),
             torch.rand(()).item()], dtype=torch.float64)


def _epochs(seeder, epochs):
    loader = DataLoader(_RandomNumbers(), batch_size=2, num_workers=1,
                        persistent_workers=True, worker_init_fn=seeder)
    out = {}
    for epoch in epochs:
        seeder.set_epoch(epoch)
        out[epoch] = torch.cat(list(loader))
    return out


def test_persistent_workers_reseed_every_epoch_as_a_resumed_run_does():
    straight = _epochs(EpochSeededWorkerInit(seed=7), [0, 1, 2])
    resumed = _epochs(EpochSeededWorkerInit(seed=7), [1, 2])
    for epoch in (1, 2):
        assert torch.equal(straight[epoch], resumed[epoch])
    assert not torch.equal(straight[0], straight[1])
    other_rank = _epochs(EpochSeededWorkerInit(seed=7, rank=1), [1])
    assert not torch.equal(other_rank[1], straight[1])


def test_worker_seed_depends_on_every_argument():
    seeds = {worker_seed(s, e, r, w)
             for s in (0, 1) for e in (0, 1) for r in (0, 1)
             for w in (0, 1)}
    assert len(seeds) == 16
    assert all(0 <= s < 2**64 for s in seeds)


class BlasThreads(Dataset):
    """Each item: the BLAS thread counts of the process that loads it."""

    def __len__(self):
        return 2

    def __getitem__(self, idx):
        from threadpoolctl import threadpool_info
        return [i['num_threads'] for i in threadpool_info()
                if i['user_api'] == 'blas']


@pytest.mark.parametrize('blas_threads', [1, None])
def test_workers_limit_blas_threads(blas_threads):
    from threadpoolctl import threadpool_info, threadpool_limits
    with threadpool_limits(limits=2, user_api='blas'):
        parent = [i['num_threads'] for i in threadpool_info()
                  if i['user_api'] == 'blas']
        loader = DataLoader(
            BlasThreads(), num_workers=1, collate_fn=list,
            worker_init_fn=EpochSeededWorkerInit(
                0, blas_threads=blas_threads))
        counts = [c for batch in loader for c in batch]
    assert parent and all(n == 2 for n in parent)
    expected = parent if blas_threads is None else [1] * len(parent)
    assert counts == [expected, expected]
