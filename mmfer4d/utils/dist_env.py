# Copyright (c) mmfer4d contributors. All rights reserved.
"""Distributed runs on machines without CUDA (gloo), for our tools.

mmengine's ``pytorch`` and ``slurm`` launchers bind every process to a CUDA
device (``torch.cuda.set_device``) before they start the process group, and
its Runner wraps the model in DDP with ``device_ids=[LOCAL_RANK]``; both
fail without CUDA. :func:`init_cpu_distributed` starts the group itself
with the gloo backend, from the same environment those launchers read, and
gives the model wrapper ``device_ids=None`` (CPU DDP). The Runner then
finds the group started and skips its own ``init_dist``. With CUDA it does
nothing: mmengine's launchers run unchanged.

It is opt-in: the config (or ``--cfg-options env_cfg.dist_cfg.backend=gloo``)
asks for gloo; a CPU launch with any other backend is an error saying so.
"""
import datetime
import os
import subprocess
from typing import Optional

import torch
import torch.distributed as dist

#: Launchers :func:`init_cpu_distributed` starts on CPU.
CPU_LAUNCHERS = ('pytorch', 'slurm')


def _env(name: str, launcher: str) -> str:
    value = os.environ.get(name)
    if value is None:
        raise RuntimeError(
            f'--launcher {launcher}: the environment variable {name} is not '
            'set (torchrun or tools/dist_train.sh set RANK, WORLD_SIZE, '
            'LOCAL_RANK, MASTER_ADDR and MASTER_PORT; srun sets SLURM_*)')
    return value


def _env_int(name: str, launcher: str) -> int:
    value = _env(name, launcher)
    try:
        return int(value)
    except ValueError:
        raise RuntimeError(f'--launcher {launcher}: {name}={value!r} is not '
                           'an integer') from None


def _slurm_env() -> None:
    """Fill RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT from
    Slurm's variables, as mmengine's ``slurm`` launcher does (master: the
    first host of ``SLURM_NODELIST``; port: ``MASTER_PORT``, else 29500)."""
    rank = _env_int('SLURM_PROCID', 'slurm')
    world_size = _env_int('SLURM_NTASKS', 'slurm')
    local_rank = int(os.environ.get('SLURM_LOCALID', 0))
    if 'MASTER_ADDR' not in os.environ:
        node_list = os.environ.get('SLURM_NODELIST')
        if not node_list:
            raise RuntimeError('--launcher slurm: SLURM_NODELIST is not set '
                               'and neither is MASTER_ADDR')
        hosts = subprocess.run(['scontrol', 'show', 'hostname', node_list],
                               capture_output=True, text=True, check=True)
        os.environ['MASTER_ADDR'] = hosts.stdout.split()[0]
    os.environ.setdefault('MASTER_PORT', '29500')
    os.environ['RANK'] = str(rank)
    os.environ['WORLD_SIZE'] = str(world_size)
    os.environ['LOCAL_RANK'] = str(local_rank)
    os.environ['LOCAL_WORLD_SIZE'] = os.environ.get(
        'SLURM_NTASKS_PER_NODE', os.environ.get('LOCAL_WORLD_SIZE', '1'))


def init_cpu_distributed(cfg, launcher: Optional[str] = None) -> bool:
    """Start a gloo process group for a distributed run without CUDA.

    Args:
        cfg (mmengine.Config): The run's config; ``cfg.launcher`` is the
            launcher unless ``launcher`` is given. ``env_cfg.dist_cfg``
            must say ``backend='gloo'``; its ``timeout`` (seconds) is used.
            Without a ``model_wrapper_cfg`` it gets mmengine's default
            wrapper (``MMDistributedDataParallel``,
            ``broadcast_buffers=False``, the config's
            ``find_unused_parameters``) with ``device_ids=None``; a
            wrapper config of its own gets ``device_ids=None`` unless it
            sets them.
        launcher (str, optional): ``'none'``, ``'pytorch'``, ``'slurm'``
            or ``'mpi'``. Defaults to ``cfg.launcher``.

    Returns:
        bool: True if it started the group; False with CUDA, with
        ``launcher='none'`` or when a group is already running.

    Raises:
        ValueError: If the backend is not gloo, or for the ``mpi``
            launcher (not supported without CUDA).
        RuntimeError: If the launcher's environment variables are missing.
    """
    launcher = launcher or cfg.get('launcher', 'none')
    if launcher == 'none' or torch.cuda.is_available() or \
            (dist.is_available() and dist.is_initialized()):
        return False
    dist_cfg = dict(cfg.get('env_cfg', {}).get('dist_cfg', {}) or {})
    backend = dist_cfg.pop('backend', 'nccl')
    if backend != 'gloo':
        raise ValueError(
            f'--launcher {launcher} on a machine without CUDA needs the gloo '
            f'backend, the config says {backend!r}: add --cfg-options '
            'env_cfg.dist_cfg.backend=gloo')
    if launcher not in CPU_LAUNCHERS:
        raise ValueError(f'--launcher {launcher} is not supported without '
                         f'CUDA; use one of {CPU_LAUNCHERS}')
    if launcher == 'slurm':
        _slurm_env()
    rank = _env_int('RANK', launcher)
    world_size = _env_int('WORLD_SIZE', launcher)
    _env('MASTER_ADDR', launcher)
    _env_int('MASTER_PORT', launcher)
    _env_int('LOCAL_RANK', launcher)
    timeout = dist_cfg.pop('timeout', None)
    if timeout is not None:
        dist_cfg['timeout'] = datetime.timedelta(seconds=timeout)
    dist.init_process_group(
        backend='gloo', rank=rank, world_size=world_size, **dist_cfg)

    wrapper = cfg.get('model_wrapper_cfg', None)
    if wrapper is None:
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel',
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False),
            device_ids=None)
    else:
        wrapper.setdefault('device_ids', None)
    return True
