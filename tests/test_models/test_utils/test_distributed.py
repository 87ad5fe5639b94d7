# Copyright (c) mmfer4d contributors. All rights reserved.
"""Tests of ``mmfer4d/models/utils/distributed.py``, including the DDP parity
of the three SMILE-VLM losses that rely on it (one start of 2 gloo CPU
processes for everything)."""
import copy
import datetime
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel

from mmfer4d.models.losses import (CrossModalRedundancyLoss,
                                   MultiViewBarlowTwinsLoss,
                                   VisionLanguageContrastiveLoss)
from mmfer4d.models.utils import (all_gather_cat, all_reduce_with_grad,
                                  get_world_size)

WORLD_SIZE = 2
# full batch of 4 split over the 2 ranks: evenly, unevenly, and with a rank
# that holds no sample (e.g. the model filtered out unlabelled samples)
SPLITS = ((2, 2), (3, 1), (4, 0))
CASES = ('mv', 'vl_views_labels', 'vl_fused', 'cmr')


def test_single_process_is_noop():
    assert not dist.is_initialized()
    assert get_world_size() == 1
    x = torch.randn(3, 2, requires_grad=True)
    assert all_gather_cat(x) is x
    assert all_gather_cat(x, grad=False) is x
    assert all_reduce_with_grad(x, op='mean') is x
    with pytest.raises(ValueError, match='all_reduce_with_grad'):
        all_reduce_with_grad(x, op='max')


class ToyModel(nn.Module):
    """Two linear encoders feeding one of the losses."""

    def __init__(self, case):
        super().__init__()
        self.case = case
        self.visual = nn.Linear(3, 4)
        self.text = nn.Linear(3, 4)
        if case == 'mv':
            self.loss = MultiViewBarlowTwinsLoss(lambd=0.1)
        elif case == 'cmr':
            self.loss = CrossModalRedundancyLoss(lambd=0.1)
        else:
            self.loss = VisionLanguageContrastiveLoss(init_temperature=0.2)

    def forward(self, x, t, labels):
        z = self.visual(x)  # (B, V, 4)
        if self.case == 'mv':
            return self.loss(z)
        if self.case == 'cmr':
            return self.loss(z.mean(dim=1), self.text(t))
        if self.case == 'vl_views_labels':
            return self.loss(z, self.text(t), labels)
        return self.loss(z.mean(dim=1), self.text(t))


def _make_data():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(4, 3, 3, generator=gen, dtype=torch.float64)
    t = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    # samples 0 and 2 share a class and sit on different ranks for (2, 2)
    labels = torch.tensor([0, 1, 0, 2])
    return x, t, labels


def _grads(model):
    return {
        name: None if p.grad is None else p.grad.clone()
        for name, p in model.named_parameters()
    }


def _worker(rank, port):
    # forked from a process whose OpenMP pool may be live: stay
    # single-threaded in the child, as DataLoader workers do
    torch.set_num_threads(1)
    torch.manual_seed(0)
    x, t, labels = _make_data()

    # single process, full batch: the reference (before joining the group)
    models, refs = {}, {}
    for case in CASES:
        models[case] = ToyModel(case).double()
        model = copy.deepcopy(models[case])
        loss = model(x, t, labels)
        loss.backward()
        refs[case] = (loss.detach(), _grads(model))
        assert refs[case][1]['visual.weight'].abs().sum() > 1e-3

    dist.init_process_group(
        'gloo',
        init_method=f'tcp://127.0.0.1:{port}',
        rank=rank,
        world_size=WORLD_SIZE,
        timeout=datetime.timedelta(seconds=120))
    try:
        assert get_world_size() == WORLD_SIZE
        for split in SPLITS:
            start = sum(split[:rank])
            rows = slice(start, start + split[rank])

            # the helper: uneven gather in rank order, gradients summed
            local = x[rows].clone().requires_grad_(True)
            gathered = all_gather_cat(local)
            torch.testing.assert_close(gathered, x)
            weight = torch.arange(x.numel(), dtype=x.dtype).view_as(x)
            (gathered * weight).sum().backward()
            torch.testing.assert_close(local.grad, WORLD_SIZE * weight[rows])
            assert torch.equal(
                all_gather_cat(labels[rows], grad=False), labels)
            local = x[rows].sum(0).clone().requires_grad_(True)
            reduced = all_reduce_with_grad(local, op='mean')
            torch.testing.assert_close(reduced, x.sum(0) / WORLD_SIZE)
            (reduced * weight[0]).sum().backward()
            torch.testing.assert_close(local.grad, weight[0])

            for case in CASES:
                ddp = DistributedDataParallel(
                    copy.deepcopy(models[case]), find_unused_parameters=True)
                loss = ddp(x[rows], t[rows], labels[rows])
                loss.backward()
                # the loss DDP training would log: mean over ranks
                logged = loss.detach().clone()
                dist.all_reduce(logged)
                logged /= WORLD_SIZE
                ref_loss, ref_grads = refs[case]
                msg = f'{case}, split {split}, rank {rank}'
                torch.testing.assert_close(
                    logged, ref_loss, rtol=1e-5, atol=1e-5, msg=msg)
                for name, grad in _grads(ddp.module).items():
                    if ref_grads[name] is None:
                        assert grad is None or not grad.any(), msg
                        continue
                    torch.testing.assert_close(
                        grad,
                        ref_grads[name],
                        rtol=1e-5,
                        atol=1e-5,
                        msg=f'{msg}, gradient of {name}')
    finally:
        dist.destroy_process_group()


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.mark.skipif(
    not dist.is_available() or not dist.is_gloo_available(),
    reason='needs torch.distributed with gloo')
def test_losses_ddp_parity_two_gloo_processes():
    """Batch 2B in one process == B per rank in 2 DDP processes.

    Same logged loss (mean over ranks) and same gradients after DDP's
    averaging, for all three losses (and the contrastive loss's
    ``logit_scale``), with even and uneven splits of the batch.
    """
    # 'fork' shares the parent's imports (torch, mmpretrain) and skips the
    # interpreter shutdown in the children: seconds instead of tens of them
    mp.start_processes(
        _worker,
        args=(_free_port(), ),
        nprocs=WORLD_SIZE,
        join=True,
        start_method='fork')
