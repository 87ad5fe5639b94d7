# Copyright (c) mmfer4d contributors. All rights reserved.
"""Autograd-aware collectives for losses computed over the global batch.

A loss that needs the whole batch (batch statistics, a contrastive
similarity matrix) gathers every rank's features with :func:`all_gather_cat`
and then computes the *same* global loss on every rank. This is correct under
``DistributedDataParallel`` because the backward of the gather sums the
gradients that all ``W`` ranks send to a rank's own features, so each rank
ends up with ``W`` times the true gradient of its local features, and DDP's
averaging over ``W`` ranks removes that factor again. A non-differentiable
gather or ``torch.distributed.all_reduce`` (as in mmpretrain's
``LatentCrossCorrelationHead``) lets only the local term through, so after
DDP's averaging the gradient is ``1 / W`` of the single-process one (the bug
fixed in lightly's Barlow Twins loss, PR #1980).

Everything here is a no-op when ``torch.distributed`` is not available, not
initialised, or the world size is 1.
"""
from typing import Optional

import torch
import torch.distributed as dist
import torch.distributed.nn.functional as dist_fn


def get_world_size(group: Optional[dist.ProcessGroup] = None) -> int:
    """Number of processes in ``group``; 1 when not distributed.

    Args:
        group (ProcessGroup, optional): The process group. Defaults to None
            (the default group).

    Returns:
        int: The world size.
    """
    if not (dist.is_available() and dist.is_initialized()):
        return 1
    return dist.get_world_size(group)


def _group_kwargs(group: Optional[dist.ProcessGroup]) -> dict:
    # ``torch.distributed.nn.functional`` uses ``group.WORLD`` as its own
    # default and does not accept ``None`` everywhere.
    return {} if group is None else {'group': group}


def all_gather_cat(tensor: torch.Tensor,
                   grad: bool = True,
                   group: Optional[dist.ProcessGroup] = None) -> torch.Tensor:
    """Concatenate ``tensor`` from all ranks along dim 0, in rank order.

    Ranks may hold different numbers of samples (e.g. the last batch of an
    epoch without ``drop_last``): sizes are exchanged first and the pieces
    padded to the largest one for the collective, then trimmed.

    Args:
        tensor (torch.Tensor): Local tensor ``(N_r, *)``; the trailing
            dimensions must agree on all ranks.
        grad (bool): Whether the result carries gradients back to every
            rank's ``tensor`` (backward sums over ranks, see the module
            docstring). Use False for labels and indices. Defaults to True.
        group (ProcessGroup, optional): The process group. Defaults to None
            (the default group).

    Returns:
        torch.Tensor: ``(sum_r N_r, *)``; ``tensor`` itself when not
        distributed.
    """
    world_size = get_world_size(group)
    if world_size == 1:
        return tensor
    local_size = torch.tensor([tensor.shape[0]], device=tensor.device)
    sizes = [torch.zeros_like(local_size) for _ in range(world_size)]
    dist.all_gather(sizes, local_size, group=group)
    sizes = [int(s.item()) for s in sizes]
    max_size = max(sizes)

    padded = tensor
    if tensor.shape[0] < max_size:
        pad = tensor.new_zeros((max_size - tensor.shape[0], ) +
                               tuple(tensor.shape[1:]))
        padded = torch.cat([tensor, pad], dim=0)

    if grad:
        pieces = dist_fn.all_gather(padded, **_group_kwargs(group))
    else:
        pieces = [torch.empty_like(padded) for _ in range(world_size)]
        dist.all_gather(pieces, padded.contiguous(), group=group)
    return torch.cat([p[:n] for p, n in zip(pieces, sizes)], dim=0)


def all_reduce_with_grad(
        tensor: torch.Tensor,
        op: str = 'sum',
        group: Optional[dist.ProcessGroup] = None) -> torch.Tensor:
    """All-reduce that carries gradients (backward is an all-reduce sum).

    Args:
        tensor (torch.Tensor): Local tensor, same shape on every rank.
        op (str): ``'sum'`` or ``'mean'`` (sum divided by the world size).
            Defaults to ``'sum'``.
        group (ProcessGroup, optional): The process group. Defaults to None
            (the default group).

    Returns:
        torch.Tensor: The reduced tensor (a new tensor, ``tensor`` is left
        unchanged); ``tensor`` itself when not distributed.

    Raises:
        ValueError: If ``op`` is not ``'sum'`` or ``'mean'``.
    """
    if op not in ('sum', 'mean'):
        raise ValueError(f"all_reduce_with_grad: op must be 'sum' or "
                         f"'mean', got {op!r}")
    world_size = get_world_size(group)
    if world_size == 1:
        return tensor
    out = dist_fn.all_reduce(
        tensor, op=dist.ReduceOp.SUM, **_group_kwargs(group))
    return out / world_size if op == 'mean' else out
