# Copyright (c) mmfer4d contributors. All rights reserved.
"""Tests of ``mmfer4d/utils/dist_env.py`` (gloo without CUDA).

The torchrun path runs end to end in ``tests/test_tools/test_dist_train.py``;
here the Slurm path starts a 2-process group from Slurm's variables set by
hand (as ``srun`` sets them), and bad set-ups fail with clear errors.
"""
import os
import socket
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from mmfer4d.utils.dist_env import init_cpu_distributed

pytestmark = pytest.mark.skipif(
    torch.cuda.is_available(), reason='the CPU path (with CUDA: a no-op)')

CHILD = '''
import torch, torch.distributed as dist
from mmengine.config import Config
from mmfer4d.utils.dist_env import init_cpu_distributed
cfg = Config(dict(launcher='slurm',
                  env_cfg=dict(dist_cfg=dict(backend='gloo', timeout=60))))
assert init_cpu_distributed(cfg)
x = torch.tensor([dist.get_rank() + 1.0])
dist.all_reduce(x)
import os
print(dist.get_rank(), dist.get_world_size(), os.environ['LOCAL_RANK'],
      cfg.model_wrapper_cfg.device_ids, int(x.item()))
dist.destroy_process_group()
'''


def _cfg(backend='gloo', launcher='pytorch'):
    return Config(
        dict(launcher=launcher, env_cfg=dict(dist_cfg=dict(backend=backend))))


def test_slurm_variables_start_a_two_process_gloo_group():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    procs = []
    for rank in range(2):
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK')
        }
        env.update(SLURM_PROCID=str(rank), SLURM_NTASKS='2',
                   SLURM_LOCALID=str(rank), MASTER_ADDR='127.0.0.1',
                   MASTER_PORT=str(port))
        procs.append(
            subprocess.Popen([sys.executable, '-c', CHILD], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True))
    outputs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, err[-3000:]
    lines = sorted(out.split() for out, _ in outputs)
    assert lines == [['0', '2', '0', 'None', '3'],
                     ['1', '2', '1', 'None', '3']]


def test_no_launcher_is_a_no_op():
    assert init_cpu_distributed(_cfg(launcher='none')) is False


def test_nccl_without_cuda_names_the_option():
    with pytest.raises(ValueError, match='env_cfg.dist_cfg.backend=gloo'):
        init_cpu_distributed(_cfg(backend='nccl'))


def test_mpi_without_cuda_is_refused():
    with pytest.raises(ValueError, match='mpi'):
        init_cpu_distributed(_cfg(launcher='mpi'))


def test_missing_torchrun_variable_is_named(monkeypatch):
    monkeypatch.delenv('RANK', raising=False)
    with pytest.raises(RuntimeError, match='RANK'):
        init_cpu_distributed(_cfg())
