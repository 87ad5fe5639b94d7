# Copyright (c) mmfer4d contributors. All rights reserved.
"""Subject-independent k-fold / LOSO cross-validation with mmengine.

``tools/kfold.py`` drives these functions: for every seed and fold it takes
a copy of the config (merged with the command line by ``tools/train.py``'s
own ``merge_args``), sets the fold arguments of every data set
(:func:`set_fold`), trains and tests with mmengine's ``Runner`` exactly as
``tools/train.py`` does (:func:`run_fold`), and finally aggregates the
per-fold metrics (:func:`aggregate_folds`) and pools the per-sample
predictions of all folds (:func:`pool_predictions`).

Layout of the work dir::

    WORK_DIR/seed{S}/fold{K}/         the Runner's work dir of one fold
        metrics.json                  written last: the fold is done
        predictions.pkl               per-sample predictions (DumpResults)
        epoch_*.pth, last_checkpoint  for resuming an interrupted fold
    WORK_DIR/summary.json, summary.md the aggregate (RESULTS.json format of
                                      tools/leaderboard.py)

The test of each fold uses the model at the end of training: the held-out
fold is the test set, so choosing a checkpoint on it would leak test
information into the reported number.
"""
import copy
import json
import math
import os
import os.path as osp
import pickle
import time
from typing import Dict, Optional, Sequence

import numpy as np

__all__ = [
    'FOLD_METRICS_FILE', 'FOLD_PREDICTIONS_FILE', 'iter_dataset_cfgs',
    'set_fold', 'describe_protocol', 'fold_work_dir', 'fold_is_done',
    'fold_has_checkpoint', 'run_fold', 'pool_predictions', 'aggregate_folds',
    'leaderboard_values', 'format_kfold_markdown', 'jsonable'
]

FOLD_METRICS_FILE = 'metrics.json'
FOLD_PREDICTIONS_FILE = 'predictions.pkl'
_DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
_EVALUATORS = ('val_evaluator', 'test_evaluator')
# Leaderboard metric <- (our metric key, statistic). Accuracy is the mean
# over folds, as the 3D FER literature averages fold accuracies; UF1/UAR
# are computed on the predictions pooled over the folds (MEGC protocol,
# see MERMetric); AU F1 likewise over all test frames.
LEADERBOARD_KEYS = (
    ('accuracy', 'fer/top1', 'mean'),
    ('accuracy', 'accuracy/top1', 'mean'),
    ('uf1', 'mer/UF1', 'pooled'),
    ('uar', 'mer/UAR', 'pooled'),
    ('f1', 'au/mean_f1', 'pooled'),
)


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


def describe_protocol(cfg, num_folds, seeds: Sequence[int]) -> dict:
    """Build the test data set once (file names only) to describe the
    protocol: ``subjects``, ``folds``, ``classes``, ``intensities``,
    ``seeds``, ``dataset`` and ``num_samples``.

    Args:
        cfg (Config): The merged config (before :func:`set_fold`).
        num_folds (int | str): Number of folds, or ``'loso'``.
        seeds (Sequence[int]): Seeds of the repeats.

    Returns:
        dict: The protocol; ``folds`` is the number of folds (the number of
        subjects for LOSO, then reported as ``'loso'``) and ``num_fold_runs``
        the number of folds to run per seed.
    """
    from mmengine.registry import init_default_scope

    from mmfer4d.registry import DATASETS
    init_default_scope(cfg.get('default_scope', None) or 'mmfer4d')
    subjects, classes, intensities, types, samples = set(), None, None, [], 0
    for dataset_cfg in iter_dataset_cfgs(cfg.test_dataloader['dataset']):
        dataset_cfg = copy.deepcopy(dict(dataset_cfg))
        dataset_cfg.update(fold=None, pipeline=[], lazy_init=False)
        dataset = DATASETS.build(dataset_cfg)
        subjects |= {info['subject'] for info in dataset.data_list}
        samples += len(dataset)
        classes = classes or dataset.metainfo.get('classes')
        intensities = intensities or dataset_cfg.get('intensities')
        types.append(str(dataset_cfg.get('type')))
    loso = num_folds in (None, 'loso')
    return dict(
        dataset='+'.join(types),
        subjects=len(subjects),
        folds='loso' if loso else int(num_folds),
        num_fold_runs=len(subjects) if loso else int(num_folds),
        classes=None if classes is None else len(classes),
        class_names=None if classes is None else list(classes),
        intensities=None if intensities is None else list(intensities),
        seeds=list(seeds),
        num_samples=samples)


def fold_work_dir(work_dir: str, seed: int, fold: int) -> str:
    """``WORK_DIR/seed{seed}/fold{fold}``."""
    return osp.join(work_dir, f'seed{seed}', f'fold{fold}')


def fold_is_done(fold_dir: str) -> bool:
    """Whether the fold's metrics file exists (written after its test)."""
    return osp.isfile(osp.join(fold_dir, FOLD_METRICS_FILE))


def fold_has_checkpoint(fold_dir: str) -> bool:
    """Whether an interrupted fold left a checkpoint to resume from."""
    return osp.isfile(osp.join(fold_dir, 'last_checkpoint'))


def run_fold(cfg, fold_dir: str) -> dict:
    """Train and test one fold with mmengine's Runner; write its metrics.

    The Runner is built the way ``tools/train.py`` builds it
    (``RUNNERS.build`` when the config names a ``runner_type``, else
    ``Runner.from_cfg``). ``metrics.json`` is written only after the test,
    so a fold interrupted anywhere before is run again (resuming from its
    last checkpoint when ``cfg.resume`` is True).

    Args:
        cfg (Config): Config of the fold (:func:`set_fold` applied,
            ``work_dir`` = ``fold_dir``).
        fold_dir (str): The fold's work dir.

    Returns:
        dict: The test metrics (JSON-able).
    """
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    os.makedirs(fold_dir, exist_ok=True)
    cfg.work_dir = fold_dir
    # Unique names: several Runners live in one process and mmengine keeps
    # loggers and visualizers by name.
    cfg.experiment_name = (f'{osp.basename(osp.dirname(fold_dir))}_'
                           f'{osp.basename(fold_dir)}_'
                           f'{time.strftime("%Y%m%d_%H%M%S")}_{os.getpid()}_'
                           f'{time.monotonic_ns()}')
    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else \
        Runner.from_cfg(cfg)
    runner.train()
    metrics = jsonable(runner.test())
    tmp = osp.join(fold_dir, FOLD_METRICS_FILE + '.tmp')
    with open(tmp, 'w', encoding='utf-8') as f:
        json.dump(metrics, f, indent=2)
    os.replace(tmp, osp.join(fold_dir, FOLD_METRICS_FILE))
    _close_file_handlers(runner)
    return metrics


def _close_file_handlers(runner) -> None:
    import logging
    for handler in list(runner.logger.handlers):
        if isinstance(handler, logging.FileHandler):
            handler.close()
            runner.logger.removeHandler(handler)


def pool_predictions(prediction_files: Sequence[str],
                     evaluator_cfg,
                     dataset_meta: Optional[dict] = None,
                     default_scope: str = 'mmfer4d') -> dict:
    """Evaluate the test metrics again on the predictions of all folds.

    Every metric of ``evaluator_cfg`` (``DumpResults`` excepted) is built
    anew and fed the concatenated per-sample predictions, so e.g.
    :class:`~mmfer4d.evaluation.MERMetric` gives UF1/UAR over all LOSO test
    samples, as the MER literature reports them.

    Args:
        prediction_files (Sequence[str]): ``predictions.pkl`` of the folds.
        evaluator_cfg (dict | list): The config's ``test_evaluator``.
        dataset_meta (dict, optional): Metainfo (``classes``, ...).
        default_scope (str): Registry scope. Defaults to 'mmfer4d'.

    Returns:
        dict: The pooled metrics (JSON-able).
    """
    from mmengine.registry import init_default_scope

    from mmfer4d.registry import METRICS
    init_default_scope(default_scope)
    samples = []
    for path in prediction_files:
        with open(path, 'rb') as f:
            samples.extend(pickle.load(f))
    if isinstance(evaluator_cfg, dict) and 'metrics' in evaluator_cfg:
        evaluator_cfg = evaluator_cfg['metrics']
    if isinstance(evaluator_cfg, dict):
        evaluator_cfg = [evaluator_cfg]
    pooled = {}
    for metric_cfg in evaluator_cfg or []:
        if metric_cfg.get('type') in ('DumpResults', 'mmengine.DumpResults'):
            continue
        metric = METRICS.build(copy.deepcopy(dict(metric_cfg)))
        metric.dataset_meta = dataset_meta
        metric.process(None, samples)
        pooled.update(metric.evaluate(len(samples)))
    return jsonable(pooled)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def aggregate_folds(fold_metrics: Dict[int, Dict[int, dict]]) -> dict:
    """Mean and standard deviation of every scalar metric.

    Args:
        fold_metrics (dict): ``{seed: {fold: metrics}}``.

    Returns:
        dict: ``{key: {mean, std, min, max, n, seed_means, seed_std}}``:
        ``mean``/``std`` over all folds of all seeds (population standard
        deviation, ``ddof=0``), ``seed_means`` the mean of each seed's folds
        and ``seed_std`` their standard deviation (the spread between
        repeats of the whole cross-validation). NaN values (e.g. a class
        absent from a fold) are left out.
    """
    keys = []
    for per_fold in fold_metrics.values():
        for metrics in per_fold.values():
            for key, value in metrics.items():
                if _is_number(value) and key not in keys:
                    keys.append(key)
    out = {}
    for key in keys:
        values, seed_means = [], []
        for seed in sorted(fold_metrics):
            vals = [
                float(m[key]) for m in fold_metrics[seed].values()
                if _is_number(m.get(key)) and math.isfinite(float(m[key]))
            ]
            values += vals
            if vals:
                seed_means.append(float(np.mean(vals)))
        if not values:
            continue
        out[key] = dict(
            mean=float(np.mean(values)),
            std=float(np.std(values)),
            min=float(np.min(values)),
            max=float(np.max(values)),
            n=len(values),
            seed_means=seed_means,
            seed_std=float(np.std(seed_means)))
    return out


def leaderboard_values(aggregate: dict, pooled: Dict[int, dict]) -> dict:
    """The leaderboard metrics (``accuracy``, ``uf1``, ...) of a run.

    Args:
        aggregate (dict): From :func:`aggregate_folds`.
        pooled (dict): ``{seed: pooled metrics}``.

    Returns:
        dict: ``{metric: {value, std, from}}`` in percent. Pooled values are
        averaged over seeds (``std`` = spread over seeds).
    """
    out = {}
    for name, key, stat in LEADERBOARD_KEYS:
        if name in out:
            continue
        if stat == 'mean' and key in aggregate:
            out[name] = dict(
                value=aggregate[key]['mean'],
                std=aggregate[key]['std'],
                **{'from': f'{key}, mean over folds and seeds'})
        elif stat == 'pooled':
            vals = [
                p[key] for p in pooled.values()
                if _is_number(p.get(key)) and math.isfinite(p[key])
            ]
            if vals:
                out[name] = dict(
                    value=float(np.mean(vals)),
                    std=float(np.std(vals)) if len(vals) > 1 else None,
                    **{'from': f'{key}, pooled over folds, mean over seeds'})
    return out


def format_kfold_markdown(summary: dict) -> str:
    """The per-fold and aggregate tables of a k-fold run as Markdown."""
    protocol = summary['protocol']
    aggregate = summary['aggregate']
    lines = [
        f'## {summary.get("label", "k-fold")}: {protocol.get("dataset")}',
        '',
        f'Protocol: {protocol.get("subjects")} subjects, folds '
        f'{protocol.get("folds")}, classes {protocol.get("classes")}, '
        f'intensities {protocol.get("intensities")}, seeds '
        f'{protocol.get("seeds")}', ''
    ]
    keys = list(aggregate)
    lines.append('| Metric | Mean | Std (folds) | Std (seeds) | Min | Max '
                 '| n | Pooled |')
    lines.append('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
    pooled = summary.get('pooled') or {}
    for key in keys:
        agg = aggregate[key]
        pool_vals = [
            p[key] for p in pooled.values() if _is_number(p.get(key))
        ]
        pool = f'{np.mean(pool_vals):.2f}' if pool_vals else ''
        lines.append(f'| {key} | {agg["mean"]:.2f} | {agg["std"]:.2f} | '
                     f'{agg["seed_std"]:.2f} | {agg["min"]:.2f} | '
                     f'{agg["max"]:.2f} | {agg["n"]} | {pool} |')
    folds = summary.get('folds') or {}
    headline = [k for k in keys if not k.split('/')[-1].startswith(
        ('acc_', 'f1_', 'recall_', 'occurrence_', 'pred_occurrence_'))][:6]
    if folds and headline:
        lines += ['', '| Seed | Fold | ' + ' | '.join(headline) + ' |',
                  '| ---: | ---: | ' + ' | '.join('---:' for _ in headline)
                  + ' |']
        for seed in sorted(folds, key=int):
            for fold in sorted(folds[seed], key=int):
                m = folds[seed][fold]
                cells = [
                    f'{m[k]:.2f}' if _is_number(m.get(k)) else ''
                    for k in headline
                ]
                lines.append(f'| {seed} | {fold} | ' + ' | '.join(cells) +
                             ' |')
    board = summary.get('leaderboard') or {}
    if board:
        lines += ['', 'For the leaderboard: ' + ', '.join(
            f'{k} = {v["value"]:.2f} ({v["from"]})' for k, v in board.items())]
    return '\n'.join(lines)
