# Copyright (c) mmfer4d contributors. All rights reserved.
"""PrefetchEpochBasedTrainLoop: the next epoch loads early, nothing else
changes (batches, order, worker seeds, training)."""
import multiprocessing
import time

import numpy as np
import pytest
import torch
from mmengine.dataset import DefaultSampler
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import DataLoader, Dataset

from mmfer4d.engine.hooks import EpochSeededWorkerInit
from mmfer4d.engine.runner import CrossEpochLoader, PrefetchEpochBasedTrainLoop
from mmfer4d.registry import HOOKS

EPOCHS = 3


class RandomItems(Dataset):
    """Items drawn from the worker's global generators (as mmcv's random
    transforms draw), with a shared count of the items loaded."""

    def __init__(self, size=12, count=True):
        self.size = size
        # (A Runner deep-copies its loader config: no shared counter there.)
        self.loaded = multiprocessing.Value('q', 0) if count else None

    def __len__(self):
        return self.size

    def __getitem__(self, idx):
        if self.loaded is not None:
            with self.loaded.get_lock():
                self.loaded.value += 1
        return dict(index=idx, numpy=float(np.random.rand()),
                    torch=float(torch.rand(())))


def _loader(dataset, seed=7):
    return DataLoader(
        dataset, batch_size=4, num_workers=2, persistent_workers=True,
        sampler=DefaultSampler(dataset, shuffle=True, seed=seed),
        worker_init_fn=EpochSeededWorkerInit(seed),
        collate_fn=lambda batch: batch)


def _epoch_start(loader, epoch):
    # What DistSamplerSeedHook and RandomStateHook do in before_train_epoch.
    loader.sampler.set_epoch(epoch)
    loader.worker_init_fn.set_epoch(epoch)


def _run(loader, cross=None):
    epochs = []
    dataset = loader.dataset
    for epoch in range(EPOCHS):
        _epoch_start(loader, epoch)
        if cross is not None:
            cross.epoch, cross.max_epochs = epoch, EPOCHS
        epochs.append([item for batch in (cross or loader) for item in batch])
        if cross is not None and epoch + 1 < EPOCHS:
            # As in training, the early batches are loaded before the
            # epoch-start hooks run (the last step and validation lie
            # between): they must not depend on those hooks.
            assert _loaded_soon(dataset, (epoch + 2) * len(dataset))
    return epochs


@pytest.mark.parametrize('in_thread', [True, False])
def test_same_batches_order_and_worker_draws_as_the_plain_loader(in_thread):
    plain = _run(_loader(RandomItems()))
    loader = _loader(RandomItems())
    cross = CrossEpochLoader(loader, receive_in_thread=in_thread)
    prefetched = _run(loader, cross)
    assert prefetched == plain
    # Epochs differ in order and in draws: the comparison covers them.
    assert [d['index'] for d in plain[0]] != [d['index'] for d in plain[1]]
    assert plain[0][0]['numpy'] != plain[1][0]['numpy']
    assert cross.num_prefetched_epochs == EPOCHS - 1
    assert len(cross) == 3 and cross.dataset is loader.dataset


def _loaded_soon(dataset, count, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if dataset.loaded.value >= count:
            return True
        time.sleep(0.01)
    return False


@pytest.mark.parametrize('in_thread', [True, False])
def test_next_epoch_loads_before_it_is_asked_for(in_thread):
    dataset = RandomItems()
    loader = _loader(dataset)
    cross = CrossEpochLoader(loader, receive_in_thread=in_thread)
    _epoch_start(loader, 0)
    cross.epoch, cross.max_epochs = 0, 2
    assert len([b for b in cross]) == 3
    # Nothing of epoch 1 was asked for; its first batches (prefetch factor
    # 2 x 2 workers = all 3) load meanwhile.
    assert _loaded_soon(dataset, 2 * len(dataset))
    assert (cross._receiver if in_thread else cross._started) is not None
    _epoch_start(loader, 1)
    cross.epoch = 1
    assert len(list(cross)) == 3
    assert dataset.loaded.value == 2 * len(dataset)  # loaded once each
    assert cross._receiver is None and cross._started is None


def test_plain_loader_waits_for_the_next_epoch():
    # The behaviour CrossEpochLoader changes: torch starts epoch e + 1 only
    # at its iter(), so within a grace period nothing more is loaded.
    dataset = RandomItems()
    loader = _loader(dataset)
    _epoch_start(loader, 0)
    assert len(list(loader)) == 3
    assert not _loaded_soon(dataset, len(dataset) + 1, timeout=0.5)


@pytest.mark.parametrize('in_thread', [True, False])
def test_last_epoch_starts_nothing_and_discard_forgets(in_thread):
    loader = _loader(RandomItems())
    cross = CrossEpochLoader(loader, receive_in_thread=in_thread)
    _epoch_start(loader, 0)
    cross.epoch, cross.max_epochs = 0, 1
    list(cross)
    assert cross.num_prefetched_epochs == 0
    assert cross._started is None and cross._receiver is None
    cross.max_epochs = 3
    list(cross)
    assert cross.num_prefetched_epochs == 1
    cross.discard()
    assert cross._started is None and cross._receiver is None
    _epoch_start(loader, 1)
    cross.epoch = 1
    assert len(list(cross)) == 3  # a normal reset, no leftover batches


class BrokenItem(RandomItems):

    def __getitem__(self, idx):
        if idx == 5:
            raise ValueError('sample 5 is broken')
        return super().__getitem__(idx)


def test_loading_error_is_raised_in_the_loop():
    dataset = BrokenItem()
    loader = DataLoader(dataset, batch_size=4, num_workers=1,
                        persistent_workers=True, collate_fn=list)
    cross = CrossEpochLoader(loader)
    batches = iter(cross)
    assert len(next(batches)) == 4  # items 0-3
    with pytest.raises(ValueError, match='sample 5 is broken'):
        next(batches)
    # The receiver stopped; a new epoch starts afresh.
    assert cross._receiver is None


@pytest.mark.parametrize('num_workers, persistent', [(0, False), (2, False)])
def test_refuses_loaders_without_persistent_workers(num_workers, persistent):
    loader = DataLoader(RandomItems(), num_workers=num_workers,
                        persistent_workers=persistent)
    with pytest.raises(ValueError, match='persistent workers'):
        CrossEpochLoader(loader)


# -- through mmengine's Runner -------------------------------------------


class Linear(BaseModel):

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(1, 1)

    def forward(self, inputs, labels=None, index=None, mode='tensor'):
        out = self.fc(inputs)
        if mode == 'loss':
            return dict(loss=((out.squeeze(1) - labels)**2).mean())
        return out


def collate(batch):
    return dict(
        inputs=torch.tensor([[b['numpy']] for b in batch]),
        labels=torch.tensor([b['torch'] for b in batch]),
        index=[b['index'] for b in batch])


@HOOKS.register_module(force=True)
class RecordBatchesHook(Hook):

    def __init__(self):
        self.batches = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.batches.append((runner.epoch, batch_idx, data_batch['index'],
                             data_batch['inputs'].flatten().tolist()))


def _train(tmp_path, train_cfg, num_workers=2):
    torch.manual_seed(0)
    runner = Runner(
        model=Linear(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=RandomItems(count=False), batch_size=4,
            num_workers=num_workers,
            persistent_workers=num_workers > 0,
            sampler=dict(type='DefaultSampler', shuffle=True),
            collate_fn=collate),
        train_cfg=train_cfg,
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        custom_hooks=[dict(type='RecordBatchesHook')],
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=EPOCHS),
            random_states=dict(type='RandomStateHook'),
            skipped_samples=dict(type='SkippedSampleHook')),
        randomness=dict(seed=3),
        default_scope='mmfer4d')
    runner.train()
    record = next(h for h in runner.hooks
                  if isinstance(h, RecordBatchesHook)).batches
    return runner, record


def test_runner_trains_on_the_plain_loops_batches(tmp_path):
    plain, plain_batches = _train(
        tmp_path / 'plain', dict(by_epoch=True, max_epochs=EPOCHS))
    runner, batches = _train(
        tmp_path / 'prefetch',
        dict(type='PrefetchEpochBasedTrainLoop', max_epochs=EPOCHS))
    loop = runner.train_loop
    assert isinstance(loop, PrefetchEpochBasedTrainLoop)
    # SkippedSampleHook wrapped it; the loop still finds it.
    assert not isinstance(loop.dataloader, CrossEpochLoader)
    assert loop._cross_epoch_loader().num_prefetched_epochs == EPOCHS - 1
    assert len(batches) == EPOCHS * 3
    assert batches == plain_batches
    for a, b in zip(plain.model.state_dict().values(),
                    runner.model.state_dict().values()):
        assert torch.equal(a, b)


def test_runner_without_workers_uses_the_plain_iteration(tmp_path):
    runner, batches = _train(
        tmp_path, dict(type='PrefetchEpochBasedTrainLoop', max_epochs=2),
        num_workers=0)
    assert runner.train_loop._cross_epoch_loader() is None
    assert len(batches) == 2 * 3
