# Copyright (c) mmfer4d contributors. All rights reserved.
"""Every random state of training in the checkpoint, for exact resume.

A run that is killed (``kill -9``) and resumed with ``--resume`` ends with
the weights of the uninterrupted run of the same seed when nothing random
differs between the two after the checkpoint's epoch. mmengine's
:class:`~mmengine.runner.EpochBasedTrainLoop` resumes at the epoch boundary
of the checkpoint (``meta['epoch']``, ``meta['iter']``); the weights,
optimizer, schedulers and message hub come back, and
:class:`~mmengine.dataset.DefaultSampler` reshuffles from ``seed + epoch``
(``DistSamplerSeedHook``), so the sampler needs nothing more. What mmengine
does not restore, and :class:`RandomStateHook` does:

- the global generators of the training process: numpy's legacy one (the
  transforms of a loader without workers draw from it), Python's
  ``random``, torch's CPU generator and, when present, every CUDA device's;
- ``torch.Generator`` objects held by the model's modules (SMILE-VLM's
  prompt sampling; it also keeps its own in ``get_extra_state``);
- data-loader workers: mmengine seeds a worker once, from ``seed + rank *
  num_workers + worker_id``, so persistent workers continue one stream
  over all epochs and a resumed run restarts it. Workers are reseeded
  instead at the start of every epoch from ``(seed, epoch, rank,
  worker_id)`` (:class:`EpochSeededWorkerInit`), the same whether the
  worker was started at epoch 0 or on resume;
- validation: it would draw from the training process's generators (a
  fresh val loader iterator draws a seed from torch's) between the
  checkpoint and the next epoch, and a resumed run does not repeat the
  validation of the checkpoint's epoch. The generators are put back after
  every validation, so training does not depend on ``val_interval``;
- the loader's own iterator seed: a persistent-worker loader draws it from
  torch's global generator once, when it first starts its workers (at
  epoch 0, or at the resumed epoch). Such a loader gets a private
  ``generator`` instead.

The states are stored under ``checkpoint['random_states']`` as tensors,
ints, floats, strings and None only, so the checkpoint passes
:func:`mmfer4d.utils.safe_load_checkpoint`.
"""
import multiprocessing
import random
from typing import Callable, Dict, List, Optional

import numpy as np
import torch
from mmengine.dataset.utils import worker_init_fn as mmengine_worker_init_fn
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from threadpoolctl import threadpool_limits
from torch.utils.data import DataLoader, get_worker_info

from mmfer4d.engine.loader_wrapper import unwrap_loader
from mmfer4d.registry import HOOKS

CHECKPOINT_KEY = 'random_states'


def capture_global_random_states() -> dict:
    """The states of numpy's legacy, Python's, torch's CPU and (when CUDA
    is available) every CUDA device's global generators.

    Returns:
        dict: ``numpy`` (``bit_generator`` str, ``keys`` int64 tensor
        ``(624,)``, ``pos``, ``has_gauss`` ints, ``gauss`` float),
        ``python`` (``version`` int, ``state`` int64 tensor ``(625,)``,
        ``gauss`` float or None), ``torch`` (uint8 tensor) and ``cuda``
        (list of uint8 tensors, one per device; only with CUDA).
    """
    name, keys, pos, has_gauss, gauss = np.random.get_state(legacy=True)
    version, py_state, py_gauss = random.getstate()
    states = dict(
        numpy=dict(
            bit_generator=str(name),
            keys=torch.from_numpy(np.asarray(keys, np.int64)),
            pos=int(pos),
            has_gauss=int(has_gauss),
            gauss=float(gauss)),
        python=dict(
            version=int(version),
            state=torch.tensor(py_state, dtype=torch.int64),
            gauss=None if py_gauss is None else float(py_gauss)),
        torch=torch.get_rng_state())
    if torch.cuda.is_available():
        states['cuda'] = list(torch.cuda.get_rng_state_all())
    return states


def restore_global_random_states(states: dict) -> None:
    """Set the global generators to ``states`` (from
    :func:`capture_global_random_states`).

    CUDA states are restored when the process sees as many devices as
    were saved; otherwise a warning says the CUDA streams start afresh.
    """
    np_state = states['numpy']
    np.random.set_state(
        (np_state['bit_generator'],
         np.asarray(torch.as_tensor(np_state['keys']).numpy(), np.uint32),
         int(np_state['pos']), int(np_state['has_gauss']),
         float(np_state['gauss'])))
    py_state = states['python']
    random.setstate((int(py_state['version']),
                     tuple(int(x) for x in py_state['state'].tolist()),
                     py_state['gauss']))
    torch.set_rng_state(torch.as_tensor(states['torch']).cpu())
    cuda = states.get('cuda')
    if cuda is None:
        return
    if torch.cuda.is_available() and torch.cuda.device_count() == len(cuda):
        torch.cuda.set_rng_state_all([torch.as_tensor(s).cpu() for s in cuda])
    else:
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        print_log(
            f'RandomStateHook: the checkpoint holds the generators of '
            f'{len(cuda)} CUDA devices, this process sees {count}; CUDA '
            'random streams are not restored', logger='current',
            level=30)


def model_generators(model: torch.nn.Module) -> Dict[str, torch.Generator]:
    """Every ``torch.Generator`` held as an attribute of a module of
    ``model``, by ``'{module name}.{attribute}'`` (a wrapper's ``module.``
    prefix left out)."""
    if is_model_wrapper(model):
        model = model.module
    found = {}
    for name, module in model.named_modules():
        for attr, value in vars(module).items():
            if isinstance(value, torch.Generator):
                found[f'{name}.{attr}' if name else attr] = value
    return found


def worker_seed(seed: int, epoch: int, rank: int, worker_id: int) -> int:
    """The seed of a data-loader worker in one epoch, a 64-bit int.

    Mixed by :class:`numpy.random.SeedSequence`, so nearby arguments give
    unrelated seeds.

    Args:
        seed (int): The run's seed (``runner.seed``).
        epoch (int): The epoch, from 0.
        rank (int): The process's rank.
        worker_id (int): The worker, in ``[0, num_workers)``.
    """
    words = np.random.SeedSequence(
        [int(seed) % 2**64,
         int(epoch), int(rank), int(worker_id)]).generate_state(2, np.uint32)
    return int(words[0]) | (int(words[1]) << 32)


def seed_everything(seed: int) -> None:
    """Seed numpy's legacy (low 32 bits), Python's and torch's global
    generators with the 64-bit ``seed``."""
    np.random.seed(seed & 0xFFFFFFFF)
    random.seed(seed)
    torch.manual_seed(seed)


class EpochSeededWorkerInit:
    """A ``worker_init_fn`` that reseeds each worker at every epoch.

    In the worker it seeds numpy, Python and torch from
    :func:`worker_seed` ``(seed, epoch, rank, worker_id)``, and again
    before the first batch it loads in a later epoch, so a persistent
    worker (``persistent_workers=True``, started once) draws the same
    numbers in epoch e as a worker started at epoch e by a resumed run.
    The main process publishes the epoch through shared memory
    (:meth:`set_epoch`, called before the epoch's iterator starts); the
    worker reads it before every batch through the data set's
    ``__getitems__``, the per-batch entry point that torch's map-style
    fetcher calls when a data set has one (the worker's copy of the data
    set gets one that wraps its own, or ``__getitem__``).

    It also limits numpy's BLAS to ``blas_threads`` threads in the worker
    (threadpoolctl), as torch limits its own intra-op threads to 1 there:
    the pipeline's small products (synthesis, normalisation) otherwise
    wake a second BLAS thread that took about 70 ms of CPU per batch of
    32 in ``make demo``, on the cores the training step runs on.

    Args:
        seed (int): The run's seed.
        rank (int): The process's rank. Defaults to 0.
        blas_threads (int, optional): BLAS threads of a worker; None
            leaves them alone. Defaults to 1.
    """

    def __init__(self, seed: int, rank: int = 0,
                 blas_threads: Optional[int] = 1):
        self.seed = int(seed)
        self.rank = int(rank)
        self.blas_threads = blas_threads
        # Inherited by forked workers; pickled into spawned ones (allowed
        # while a process is being started).
        self._epoch = multiprocessing.Value('q', 0, lock=False)
        self._worker_id: Optional[int] = None
        self._seeded_epoch: Optional[int] = None

    @property
    def epoch(self) -> int:
        """The epoch the workers seed for."""
        return int(self._epoch.value)

    def set_epoch(self, epoch: int) -> None:
        """Publish the epoch to the workers (main process)."""
        self._epoch.value = int(epoch)

    def reseed(self) -> None:
        """Seed this worker for the current epoch, once per epoch."""
        epoch = self.epoch
        if epoch != self._seeded_epoch:
            seed_everything(
                worker_seed(self.seed, epoch, self.rank, self._worker_id))
            self._seeded_epoch = epoch

    def __call__(self, worker_id: int) -> None:
        if self.blas_threads is not None:
            threadpool_limits(limits=int(self.blas_threads), user_api='blas')
        self._worker_id = int(worker_id)
        self._seeded_epoch = None
        self.reseed()
        info = get_worker_info()
        if info is not None:
            _reseed_before_every_batch(info.dataset, self.reseed)


def _reseed_before_every_batch(dataset, reseed: Callable[[], None]) -> None:
    inner = getattr(dataset, '__getitems__', None)

    def getitems(indices: List[int]) -> list:
        reseed()
        if inner:
            return inner(indices)
        return [dataset[i] for i in indices]

    dataset.__getitems__ = getitems


def _torch_loader(loader) -> Optional[DataLoader]:
    """The :class:`DataLoader` under wrappers such as
    :class:`SkippedSampleHook`'s (which keep it as ``.loader``)."""
    return unwrap_loader(loader, DataLoader)


def _is_mmengine_default(fn) -> bool:
    return fn is None or getattr(fn, 'func', None) is mmengine_worker_init_fn


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Save and restore every random state of training (exact resume).

    Registered in ``configs/_base_/default_runtime.py``
    (``default_hooks.random_states``). See the module doc for what it
    covers; in short, a run of an epoch-based config killed at any point
    and resumed with ``--resume`` from an epoch checkpoint ends with the
    weights of the uninterrupted run, bit for bit on the same machine and
    software, when the data set's random transforms draw from numpy's,
    Python's or torch's global generators (as mmcv's do) and the model's
    from torch's or from generators it holds.

    Checkpoint entry ``random_states``: ``dict(ranks=[...])``, per rank
    (gathered at the end of every epoch in a distributed run; each rank
    resumes from its own) a dict of ``global`` (see
    :func:`capture_global_random_states`), ``model_generators``
    (``{name: uint8 tensor}``), ``loader_generator`` (uint8 tensor or
    None) and ``sampler_seed`` (int or None).

    Args:
        seed_workers_per_epoch (bool): Replace mmengine's default
            ``worker_init_fn`` of the training loader by
            :class:`EpochSeededWorkerInit`. A loader with its own
            ``worker_init_fn`` is left alone (with a warning: its workers
            decide whether resume is exact). Defaults to True.
    """

    # After NORMAL hooks' before_train (SkippedSampleHook wraps the
    # loader), before CheckpointHook's after_train_epoch (VERY_LOW).
    priority = 'LOW'

    def __init__(self, seed_workers_per_epoch: bool = True):
        self.seed_workers_per_epoch = seed_workers_per_epoch
        self.worker_init: Optional[EpochSeededWorkerInit] = None
        self._loader: Optional[DataLoader] = None
        self._loaded: Optional[dict] = None
        self._before_val: Optional[dict] = None
        self._all_ranks: Optional[tuple] = None

    # -- what is saved --------------------------------------------------
    def capture(self, runner) -> dict:
        """The random states of training now (see the class doc)."""
        loader = self._loader
        sampler = getattr(loader, 'sampler', None)
        generator = getattr(loader, 'generator', None)
        seed = getattr(sampler, 'seed', None)
        return {
            'global': capture_global_random_states(),
            'model_generators': {
                name: gen.get_state()
                for name, gen in model_generators(runner.model).items()
            },
            'loader_generator':
            generator.get_state() if generator is not None else None,
            'sampler_seed': int(seed) if seed is not None else None,
        }

    def restore(self, runner, states: dict) -> None:
        """Put the random states of :meth:`capture` back."""
        restore_global_random_states(states['global'])
        gens = model_generators(runner.model)
        for name, state in states.get('model_generators', {}).items():
            if name in gens:
                gens[name].set_state(torch.as_tensor(state).cpu())
            else:
                print_log(f'RandomStateHook: the model has no generator '
                          f'{name!r} to restore', logger='current',
                          level=30)
        loader = self._loader
        generator = getattr(loader, 'generator', None)
        if states.get('loader_generator') is not None and \
                generator is not None:
            generator.set_state(
                torch.as_tensor(states['loader_generator']).cpu())
        sampler = getattr(loader, 'sampler', None)
        seed = states.get('sampler_seed')
        if seed is not None and getattr(sampler, 'seed', seed) != seed:
            print_log(f'RandomStateHook: sampler seed {sampler.seed} -> '
                      f'{seed} (the checkpoint\'s)', logger='current')
            sampler.seed = seed

    # -- training loader --------------------------------------------------
    def _setup_loader(self, runner) -> None:
        loader = _torch_loader(runner.train_dataloader)
        self._loader = loader
        if loader is None or not loader.num_workers:
            return
        if self.seed_workers_per_epoch:
            if _is_mmengine_default(loader.worker_init_fn):
                self.worker_init = EpochSeededWorkerInit(
                    runner.seed, get_rank())
                loader.worker_init_fn = self.worker_init
            else:
                print_log(
                    'RandomStateHook: the training loader has its own '
                    'worker_init_fn; whether resume is exact depends on '
                    'how it seeds workers', logger='current', level=30)
        if loader.persistent_workers and loader.generator is None:
            # Its one draw would come from torch's global generator at a
            # different point of a resumed run than of an uninterrupted
            # one (epoch 0 or the resumed epoch).
            # (worker_id 2**32: no worker's.)
            loader.generator = torch.Generator().manual_seed(
                worker_seed(runner.seed, 0, get_rank(), 2**32) % 2**63)

    # -- hook points ------------------------------------------------------
    def before_train(self, runner) -> None:
        self._setup_loader(runner)
        if self._loaded is None:
            return
        # `after_load_checkpoint` also runs for `load_from` (initialising
        # weights), whose random states must not be taken over.
        if getattr(runner, '_resume', False):
            self.restore(runner, self._loaded)
            print_log(f'RandomStateHook: random states restored from the '
                      f'checkpoint of epoch {runner.epoch}',
                      logger='current')
        self._loaded = None

    def before_train_epoch(self, runner) -> None:
        if self.worker_init is not None:
            self.worker_init.set_epoch(runner.epoch)

    def before_val(self, runner) -> None:
        self._before_val = capture_global_random_states()

    def after_val(self, runner) -> None:
        if self._before_val is not None:
            restore_global_random_states(self._before_val)
            self._before_val = None

    def after_train_epoch(self, runner) -> None:
        # Before CheckpointHook (VERY_LOW), on every rank: the checkpoint
        # is written by rank 0 alone, which cannot ask the others then.
        if get_world_size() > 1:
            self._all_ranks = (runner.iter,
                               all_gather_object(self.capture(runner)))

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        states = self.capture(runner)
        ranks = [states]
        if self._all_ranks is not None and self._all_ranks[0] == runner.iter:
            ranks = list(self._all_ranks[1])
        if self._before_val is not None:
            # Saved during validation (``save_best``): training goes on
            # from the states before it.
            ranks[get_rank()]['global'] = self._before_val
        checkpoint[CHECKPOINT_KEY] = dict(ranks=ranks)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        saved = checkpoint.get(CHECKPOINT_KEY)
        resume = getattr(runner, '_resume', False)
        self._loaded = None
        if saved is None:
            if resume:
                print_log(
                    'RandomStateHook: the checkpoint holds no random states '
                    '(written before mmfer4d saved them); the resumed run '
                    'will not repeat the uninterrupted one exactly',
                    logger='current', level=30)
            return
        ranks, rank = saved['ranks'], get_rank()
        if len(ranks) != get_world_size() and resume:
            print_log(
                f'RandomStateHook: the checkpoint holds the random states '
                f'of {len(ranks)} processes, this run has '
                f'{get_world_size()}; each takes those of rank '
                f'(its rank mod {len(ranks)}), and the run will not repeat '
                'the uninterrupted one exactly', logger='current', level=30)
        self._loaded = ranks[rank % len(ranks)]
