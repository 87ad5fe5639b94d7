# Copyright (c) mmfer4d contributors. All rights reserved.
"""The numbers of a protocol run: per-fold aggregates, pooled metrics.

Two statistics are reported, each where its literature uses it:

- **Mean over folds** (accuracy; AU mean F1): the 3D FER literature
  averages the accuracies of the subject-independent folds (BU-3DFE
  10-fold since Wang et al. 2006), and the AU literature averages the
  fold scores of its 3-fold protocol (the JAA-Net maintainers: "the result
  is the average of three folds", ZhiwenShao/PyTorch-JAANet issues 15 and
  22, BP4D and DISFA).
- **Pooled over folds** (micro-expression UF1 and UAR): the MEGC 2019
  composite protocol (See et al., "MEGC 2019 - The Second Facial
  Micro-Expressions Grand Challenge", FG 2019) and the MER code built on
  it, e.g. STSTNet (Liong et al., FG 2019, christy1206/STSTNet
  ``main.py``), concatenate the predictions of all leave-one-subject-out
  folds and compute UF1/UAR once on them: a LOSO fold holds one subject's
  few clips, often without some classes, so per-fold F1 and recall are
  undefined or extreme. :func:`pool_predictions` does exactly that with
  :class:`~mmfer4d.evaluation.MERMetric` (its docstring gives the
  formulas).
"""
import copy
import math
import pickle
from typing import Dict, Optional, Sequence

import numpy as np

__all__ = [
    'LEADERBOARD_KEYS', 'pool_predictions', 'aggregate_folds',
    'leaderboard_values', 'format_kfold_markdown'
]

# Leaderboard metric <- (our metric key, statistic); see the module
# docstring for which statistic each literature reports.
LEADERBOARD_KEYS = (
    ('accuracy', 'fer/top1', 'mean'),
    ('accuracy', 'accuracy/top1', 'mean'),
    ('uf1', 'mer/UF1', 'pooled'),
    ('uar', 'mer/UAR', 'pooled'),
    ('f1', 'au/mean_f1', 'mean'),
)
_MER_METRIC_TYPES = ('MERMetric', 'mmfer4d.MERMetric')
_DUMP_TYPES = ('DumpResults', 'mmengine.DumpResults')


def _metric_cfgs(evaluator_cfg) -> list:
    if isinstance(evaluator_cfg, dict) and 'metrics' in evaluator_cfg:
        evaluator_cfg = evaluator_cfg['metrics']
    if isinstance(evaluator_cfg, dict):
        evaluator_cfg = [evaluator_cfg]
    return [
        dict(m) for m in evaluator_cfg or []
        if m.get('type') not in _DUMP_TYPES
    ]


def pool_predictions(prediction_files: Sequence[str],
                     evaluator_cfg,
                     dataset_meta: Optional[dict] = None,
                     default_scope: str = 'mmfer4d',
                     add_mer: bool = False) -> dict:
    """Evaluate the test metrics again on the predictions of all folds.

    Every metric of ``evaluator_cfg`` (``DumpResults`` excepted) is built
    anew and fed the concatenated per-sample predictions, so e.g.
    :class:`~mmfer4d.evaluation.MERMetric` gives UF1/UAR over all LOSO test
    samples, as the MER literature reports them (module docstring).

    Args:
        prediction_files (Sequence[str]): ``predictions.pkl`` of the folds.
        evaluator_cfg (dict | list): The config's ``test_evaluator``.
        dataset_meta (dict, optional): Metainfo (``classes``, ...).
        default_scope (str): Registry scope. Defaults to 'mmfer4d'.
        add_mer (bool): Also evaluate ``MERMetric`` when the config's
            evaluator lacks it (a LOSO run always reports pooled UF1/UAR).
            Defaults to False.

    Returns:
        dict: The pooled metrics (JSON-able).
    """
    from mmengine.registry import init_default_scope

    from mmfer4d.registry import METRICS

    from .kfold import jsonable
    init_default_scope(default_scope)
    samples = []
    for path in prediction_files:
        with open(path, 'rb') as f:
            samples.extend(pickle.load(f))
    metric_cfgs = _metric_cfgs(evaluator_cfg)
    if add_mer and not any(
            m.get('type') in _MER_METRIC_TYPES for m in metric_cfgs):
        metric_cfgs.append(dict(type='MERMetric'))
    pooled = {}
    for metric_cfg in metric_cfgs:
        metric = METRICS.build(copy.deepcopy(metric_cfg))
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
        dict: ``{metric: {value, std, from}}`` in percent, each with the
        statistic of :data:`LEADERBOARD_KEYS`. Pooled values are averaged
        over seeds (``std`` = spread over seeds).
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
    if summary.get('pretrain_config'):
        lines += [f'Pre-trained per fold with {summary["pretrain_config"]} '
                  '(no fold\'s test subjects seen in its pre-training).', '']
    pooled = summary.get('pooled') or {}
    keys = list(aggregate)
    keys += [k for p in pooled.values() for k in p
             if k not in keys and _is_number(p[k])]
    lines.append('| Metric | Mean | Std (folds) | Std (seeds) | Min | Max '
                 '| n | Pooled |')
    lines.append('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
    for key in dict.fromkeys(keys):
        pool_vals = [
            p[key] for p in pooled.values() if _is_number(p.get(key))
        ]
        pool = f'{np.mean(pool_vals):.2f}' if pool_vals else ''
        agg = aggregate.get(key)
        if agg is None:
            lines.append(f'| {key} | | | | | | | {pool} |')
            continue
        lines.append(f'| {key} | {agg["mean"]:.2f} | {agg["std"]:.2f} | '
                     f'{agg["seed_std"]:.2f} | {agg["min"]:.2f} | '
                     f'{agg["max"]:.2f} | {agg["n"]} | {pool} |')
    folds = summary.get('folds') or {}
    headline = [k for k in aggregate if not k.split('/')[-1].startswith(
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
