# Copyright (c) mmfer4d contributors. All rights reserved.
"""Subject-independent k-fold / LOSO cross-validation: the folds.

A protocol run (:func:`mmfer4d.apis.run_kfold`, ``tools/kfold.py``) takes
for every seed and fold a copy of the config, sets the fold arguments of
every data set (:func:`set_fold`), trains and tests it with mmengine's
``Runner`` (:func:`run_fold`) and finally aggregates the per-fold metrics
and pools the per-sample predictions of all folds
(:mod:`mmfer4d.apis.kfold_results`).

The protocol is the config's own: the ``num_folds`` its data sets state
(``'loso'`` for leave-one-subject-out, as the 4DME base config says; an
integer k for subject-independent k-fold), unless the caller overrides it
(:func:`config_num_folds`).

Layout of the work dir::

    WORK_DIR/seed{S}/fold{K}/         the Runner's work dir of one fold
        metrics.json                  written last: the fold is done
        predictions.pkl               per-sample predictions (DumpResults)
        epoch_*.pth, last_checkpoint  for resuming an interrupted fold
        pretrain/                     the fold's own pre-training, when the
                                      run probes a pre-trained model
                                      (:mod:`mmfer4d.apis.kfold_pretrain`)
    WORK_DIR/summary.json, summary.md the aggregate (RESULTS.json format of
                                      tools/leaderboard.py)

The test of each fold uses the model at the end of training: the held-out
fold is the test set, so choosing a checkpoint on it would leak test
information into the reported number.
"""
import copy
import json
import os
import os.path as osp
import time
from typing import Optional, Sequence, Set, Tuple, Union

import numpy as np

from mmfer4d.leaderboards.leaderboard import au_numbers

from .kfold_logging import build_runner
# Re-exported: these lived here before the results moved to their module.
from .kfold_results import (LEADERBOARD_KEYS, aggregate_folds,
                            format_kfold_markdown, leaderboard_values,
                            pool_predictions)

__all__ = [
    'FOLD_METRICS_FILE', 'FOLD_PREDICTIONS_FILE', 'LEADERBOARD_KEYS',
    'iter_dataset_cfgs', 'config_num_folds', 'set_fold', 'describe_protocol',
    'split_subjects', 'fold_work_dir', 'fold_is_done', 'fold_has_checkpoint',
    'run_fold', 'build_runner_in', 'write_json', 'close_file_handlers',
    'stop_loader_workers',
    'unique_experiment_name',
    'pool_predictions', 'aggregate_folds', 'leaderboard_values',
    'format_kfold_markdown', 'jsonable'
]

FOLD_METRICS_FILE = 'metrics.json'
FOLD_PREDICTIONS_FILE = 'predictions.pkl'
_DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def jsonable(value):
    """Tensors, arrays and numpy scalars as plain JSON-able Python values;
    other objects are dropped (None)."""
    import torch
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return None


def iter_dataset_cfgs(dataset_cfg):
    """The innermost data set configs of a (possibly wrapped) data set.

    ``RepeatDataset``/``ClassBalancedDataset`` (``dataset=``) and
    ``ConcatDataset`` (``datasets=``) are walked through.
    """
    if dataset_cfg is None:
        return
    if 'dataset' in dataset_cfg:
        yield from iter_dataset_cfgs(dataset_cfg['dataset'])
    elif 'datasets' in dataset_cfg:
        for sub in dataset_cfg['datasets']:
            yield from iter_dataset_cfgs(sub)
    else:
        yield dataset_cfg


def _normalize_folds(num_folds) -> Union[int, str]:
    if num_folds is None or (isinstance(num_folds, str)
                             and num_folds.lower() == 'loso'):
        return 'loso'
    return int(num_folds)


def config_num_folds(cfg) -> Tuple[Optional[Union[int, str]], str]:
    """The protocol a config states: its data sets' ``num_folds``.

    Every data set of the training, validation and test loaders that states
    ``num_folds`` must state the same value.

    Args:
        cfg (Config): The config.

    Returns:
        tuple: ``(num_folds, where)``: ``'loso'`` or an int, or None when no
        data set states it (the data set class's default then applies), and
        a short description of where it was read, for the log.

    Raises:
        ValueError: If two data sets of the config state different values.
    """
    stated = {}
    for field in _DATALOADERS:
        loader = cfg.get(field, None)
        if loader is None:
            continue
        for dataset in iter_dataset_cfgs(loader['dataset']):
            if 'num_folds' in dataset:
                stated[field] = _normalize_folds(dataset['num_folds'])
    values = set(stated.values())
    if len(values) > 1:
        raise ValueError(
            'the data sets of the config state different protocols: ' +
            ', '.join(f'{k}.dataset.num_folds={v!r}'
                      for k, v in stated.items()))
    if not values:
        return None, 'the data set class default (no num_folds in the config)'
    value = values.pop()
    return value, f"the config's data sets (num_folds={value!r})"


def set_fold(cfg, fold: int, num_folds, seed: int,
             predictions_file: Optional[str] = None):
    """Set the protocol arguments of every data set of a config.

    The training loader gets ``split='train'``, the validation and test
    loaders ``split='test'``; all get ``fold``, ``num_folds`` and ``seed``
    (the arguments of :class:`~mmfer4d.datasets.BaseFERDataset`). The seed
    also becomes ``randomness.seed``, so that repeated cross-validation
    varies both the partition and the training. With ``predictions_file``,
    a ``DumpResults`` metric is appended to the test evaluator.

    Args:
        cfg (Config): Modified in place.
        fold (int): Held-out fold.
        num_folds (int | str): Number of folds, or ``'loso'``.
        seed (int): Seed of the partition and of the run.
        predictions_file (str, optional): Where the test predictions go.

    Returns:
        Config: ``cfg``.

    Raises:
        ValueError: If the config has no training or test data set.
    """
    for field in _DATALOADERS:
        loader = cfg.get(field, None)
        if loader is None:
            if field != 'val_dataloader':
                raise ValueError(f'the config has no {field}: k-fold '
                                 'cross-validation trains and tests')
            continue
        split = 'train' if field == 'train_dataloader' else 'test'
        for dataset in iter_dataset_cfgs(loader['dataset']):
            dataset.update(
                fold=fold, num_folds=num_folds, seed=seed, split=split)
    cfg.randomness = dict(cfg.get('randomness', None) or {}, seed=seed)
    if predictions_file is not None:
        evaluator = cfg.get('test_evaluator', None)
        dump = dict(type='DumpResults', out_file_path=predictions_file)
        if evaluator is None:
            cfg.test_evaluator = [dump]
        elif isinstance(evaluator, (list, tuple)):
            cfg.test_evaluator = list(evaluator) + [dump]
        elif 'metrics' in evaluator:
            metrics = evaluator['metrics']
            metrics = list(metrics) if isinstance(metrics,
                                                  (list, tuple)) else [metrics]
            evaluator['metrics'] = metrics + [dump]
        else:
            cfg.test_evaluator = [evaluator, dump]
    return cfg


def _build_datasets(cfg, field: str):
    """The innermost data sets of one loader, file names only."""
    from mmengine.registry import init_default_scope

    from mmfer4d.registry import DATASETS
    init_default_scope(cfg.get('default_scope', None) or 'mmfer4d')
    for dataset_cfg in iter_dataset_cfgs(cfg[field]['dataset']):
        dataset_cfg = copy.deepcopy(dict(dataset_cfg))
        dataset_cfg.update(pipeline=[], lazy_init=False)
        yield dataset_cfg, DATASETS.build(dataset_cfg)


def split_subjects(cfg, field: str = 'test_dataloader') -> Set[tuple]:
    """The subjects one loader of a (fold-set) config reads.

    Args:
        cfg (Config): A config, usually after :func:`set_fold`.
        field (str): The loader. Defaults to 'test_dataloader'.

    Returns:
        set[tuple]: ``(data set type, subject)`` pairs, so that two data
        sets with the same subject ids are told apart.
    """
    subjects = set()
    for dataset_cfg, dataset in _build_datasets(cfg, field):
        kind = str(dataset_cfg.get('type')).split('.')[-1]
        subjects |= {(kind, info['subject']) for info in dataset.data_list}
    return subjects


def describe_protocol(cfg, num_folds=None, seeds: Sequence[int] = (0, )
                      ) -> dict:
    """Build the test data set once (file names only) to describe the
    protocol: ``dataset``, ``subjects``, ``folds``, ``classes``,
    ``intensities``, ``aus``, ``seeds`` and ``num_samples``.

    Args:
        cfg (Config): The merged config (before :func:`set_fold`).
        num_folds (int | str, optional): Number of folds, or ``'loso'``.
            Defaults to None: the config's own (:func:`config_num_folds`).
        seeds (Sequence[int]): Seeds of the repeats. Defaults to (0, ).

    Returns:
        dict: The protocol; ``folds`` is the number of folds (``'loso'`` for
        leave-one-subject-out), ``num_fold_runs`` the number of folds to
        run per seed (the number of subjects for LOSO) and ``dataset`` the
        data set type(s), joined by ``+``, without registry scope.
    """
    subjects, classes, intensities, aus, types, samples, stated = (
        set(), None, None, None, [], 0, None)
    for dataset_cfg, dataset in _build_datasets(
            _with_fold(cfg, None), 'test_dataloader'):
        subjects |= {info['subject'] for info in dataset.data_list}
        samples += len(dataset)
        classes = classes or dataset.metainfo.get('classes')
        intensities = intensities or dataset_cfg.get('intensities')
        aus = aus or au_numbers(
            getattr(dataset, 'au_names', None)
            or dataset.metainfo.get('au_names') or None)
        types.append(str(dataset_cfg.get('type')).split('.')[-1])
        if stated is None and hasattr(dataset, 'num_folds'):
            stated = dataset.num_folds
    if num_folds is None:
        num_folds = config_num_folds(cfg)[0]
    if num_folds is None:
        num_folds = stated
    loso = _normalize_folds(num_folds) == 'loso'
    return dict(
        dataset='+'.join(types),
        subjects=len(subjects),
        folds='loso' if loso else int(num_folds),
        num_fold_runs=len(subjects) if loso else int(num_folds),
        classes=None if classes is None else len(classes),
        class_names=None if classes is None else list(classes),
        intensities=None if intensities is None else list(intensities),
        aus=aus,
        seeds=list(seeds),
        num_samples=samples)


def _with_fold(cfg, fold):
    """A copy of ``cfg`` whose test data sets have ``fold`` set."""
    cfg = copy.deepcopy(cfg)
    for dataset in iter_dataset_cfgs(cfg.test_dataloader['dataset']):
        dataset['fold'] = fold
    return cfg


def fold_work_dir(work_dir: str, seed: int, fold: int) -> str:
    """``WORK_DIR/seed{seed}/fold{fold}``."""
    return osp.join(work_dir, f'seed{seed}', f'fold{fold}')


def fold_is_done(fold_dir: str) -> bool:
    """Whether the fold's metrics file exists (written after its test)."""
    return osp.isfile(osp.join(fold_dir, FOLD_METRICS_FILE))


def fold_has_checkpoint(fold_dir: str) -> bool:
    """Whether an interrupted fold left a checkpoint to resume from."""
    return osp.isfile(osp.join(fold_dir, 'last_checkpoint'))


def unique_experiment_name(fold_dir: str) -> str:
    """A name no other Runner of this process has: mmengine keeps loggers
    and visualizers by name, and one process runs many folds."""
    return (f'{osp.basename(osp.dirname(fold_dir))}_'
            f'{osp.basename(fold_dir)}_'
            f'{time.strftime("%Y%m%d_%H%M%S")}_{os.getpid()}_'
            f'{time.monotonic_ns()}')


def run_fold(cfg, fold_dir: str, quiet: bool = False) -> dict:
    """Train and test one fold with mmengine's Runner; write its metrics.

    The Runner is built the way ``tools/train.py`` builds it
    (``RUNNERS.build`` when the config names a ``runner_type``, else
    ``Runner.from_cfg``). ``metrics.json`` is written only after the test,
    so a fold interrupted anywhere before is run again (resuming from its
    last checkpoint when ``cfg.resume`` is True).

    Args:
        cfg (Config): Config of the fold (:func:`set_fold` applied).
        fold_dir (str): The fold's work dir (becomes ``cfg.work_dir``).
        quiet (bool): Keep the Runner's environment, config and hook
            listing out of the console (they still go to the fold's log
            file); see :func:`~mmfer4d.apis.kfold_logging.build_runner`.
            Defaults to False.

    Returns:
        dict: The test metrics (JSON-able).
    """
    runner = build_runner_in(cfg, fold_dir, quiet)
    try:
        runner.train()
        metrics = jsonable(runner.test())
        write_json(osp.join(fold_dir, FOLD_METRICS_FILE), metrics)
    finally:
        close_file_handlers(runner)
        stop_loader_workers(runner)
    return metrics


def build_runner_in(cfg, work_dir: str, quiet: bool = False):
    """The Runner of ``cfg`` with ``work_dir`` and a unique experiment
    name (:func:`~mmfer4d.apis.kfold_logging.build_runner`)."""
    os.makedirs(work_dir, exist_ok=True)
    cfg.work_dir = work_dir
    cfg.experiment_name = unique_experiment_name(work_dir)
    return build_runner(cfg, quiet=quiet)


def write_json(path: str, data) -> None:
    """Write ``data`` as JSON through a temporary file, so that ``path``
    exists only once complete (it marks a finished step)."""
    tmp = path + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)


def close_file_handlers(runner) -> None:
    """Close the Runner's log file (many Runners live in one process)."""
    import logging
    for handler in list(runner.logger.handlers):
        if isinstance(handler, logging.FileHandler):
            handler.close()
            runner.logger.removeHandler(handler)


def stop_loader_workers(runner) -> int:
    """Stop the persistent data-loader workers of a finished Runner now.

    torch stops a loader's persistent workers only when the loader's
    iterator is garbage-collected. A finished Runner sits in reference
    cycles, so that happens in a later cyclic collection, which may
    finalise the iterator's queues before the iterator itself: the stop
    message then never reaches a worker, and torch waits its 5 s timeout
    for each one. In ``make demo`` that was 10 s (the pre-training's train
    and test workers) at the start of the linear probe. Stopping them while
    the Runner is still alive takes milliseconds.

    Uses torch's private ``DataLoader._iterator`` and
    ``_shutdown_workers`` (torch has no public call for this); loaders
    without them are left alone.

    Args:
        runner (Runner): The Runner; its loops may be built or not.

    Returns:
        int: Number of loaders whose workers were stopped.
    """
    stopped = 0
    for name in ('_train_loop', '_val_loop', '_test_loop'):
        loader = getattr(getattr(runner, name, None), 'dataloader', None)
        iterator = getattr(loader, '_iterator', None)
        if iterator is not None and hasattr(iterator, '_shutdown_workers'):
            iterator._shutdown_workers()
            loader._iterator = None
            stopped += 1
    return stopped
