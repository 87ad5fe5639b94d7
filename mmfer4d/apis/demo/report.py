# Copyright (c) mmfer4d contributors. All rights reserved.
"""What the demo prints: one run's summary and the combined table.

A *record* is what :func:`mmfer4d.apis.demo.runner.run_one` returns and
``results.json`` keeps per run: ``name``, ``method``, ``supervision``,
``evaluation``, ``config``, ``folds`` (fold -> metrics dict),
``aggregate`` (metric -> ``{'mean', 'std', ...}`` over folds),
``protocol`` (:func:`mmfer4d.apis.demo.run_config.protocol_of`),
``epochs`` and ``wall_s`` (fold -> train + test seconds).
"""
import math
from typing import List, Optional, Sequence

from .registry import RUNS
from .run_config import CLASSES

#: The note every demo table carries.
SYNTHETIC_NOTE = ('Synthetic benchmark (SyntheticFER3D / SyntheticFER4D, '
                  'procedurally generated faces): not comparable with any '
                  'published result on a real data set.')
TABLE_TITLE = '### mmfer4d demo: SMILE-VLM on the synthetic benchmark'
TABLE_HEAD = (
    '| Method | Supervision | Evaluation | Data | Split | Accuracy (%) '
    '| Mean class acc. (%) | Also | Epochs | Train + test (min) |',
    '| --- | --- | --- | --- | --- | ---: | ---: | --- | ---: | ---: |')


def mean_of(record: dict, key: str) -> Optional[float]:
    """Mean over folds of metric ``key``, or None if the run has none."""
    agg = record.get('aggregate', {}).get(key)
    return None if agg is None else agg['mean']


def fmt(value, digits: int = 1) -> str:
    """``value`` with ``digits`` decimals; ``'-'`` for None, NaN and inf."""
    if value is None or (isinstance(value, float)
                         and not math.isfinite(value)):
        return '-'
    return f'{value:.{digits}f}'


def format_confusion(matrix: Sequence[Sequence[int]],
                     classes: Sequence[str]) -> str:
    """The confusion matrix as aligned text, rows = true class."""
    width = max(6, max(len(c) for c in classes) + 1)
    head = ' ' * width + ''.join(f'{c[:7]:>8}' for c in classes)
    lines = ['true \\ predicted', head]
    for name, row in zip(classes, matrix):
        lines.append(f'{name:<{width}}' + ''.join(f'{v:>8d}' for v in row))
    return '\n'.join(lines)


def format_run(record: dict) -> str:
    """The summary of one run: accuracy, per-class and per-intensity
    accuracy, clustering, the last fold's confusion matrix, wall time."""
    prefix = 'fer/'
    fold = sorted(record['folds'])[-1]
    metrics = record['folds'][fold]
    classes = metrics.get(prefix + 'classes') or list(CLASSES)
    p = record['protocol']
    lines = [
        '', f'=== {record["method"]}, {record["evaluation"]} '
        f'({record["name"]}; {record["config"]}) ===',
        f'Held-out subjects: {p["dataset"]}, classes {p["classes"]}, '
        f'intensities {p["intensities"]}, fold(s) {p["folds_tested"]} of '
        f'{p["folds"]}',
        f'Accuracy: {fmt(mean_of(record, prefix + "top1"), 2)} %   '
        f'mean class accuracy: '
        f'{fmt(mean_of(record, prefix + "mean_class_acc"), 2)} %'
    ]
    lines.append('Per-class accuracy (%): ' + ', '.join(
        f'{c} {fmt(mean_of(record, prefix + "acc_" + c))}' for c in classes))
    levels = sorted(k for k in record['aggregate']
                    if k.startswith(prefix + 'acc_intensity_'))
    if levels:
        lines.append('Accuracy per intensity (%): ' + ', '.join(
            f'{k.rsplit("_", 1)[1]}: {fmt(mean_of(record, k))}'
            for k in levels))
    for key, label in (('cluster/acc', 'clustering accuracy'),
                       ('cluster/nmi', 'NMI')):
        if key in record['aggregate']:
            lines.append(f'{label}: {fmt(mean_of(record, key), 2)} %')
    if metrics.get(prefix + 'confusion_matrix'):
        lines.append(f'Confusion matrix (fold {fold}):')
        lines.append(format_confusion(metrics[prefix + 'confusion_matrix'],
                                      classes))
    if record.get('wall_s'):
        lines.append('Wall time: ' + ', '.join(
            f'fold {k}: {v:.0f} s' for k, v in record['wall_s'].items()))
    return '\n'.join(lines)


def also_intensity_levels(record: dict) -> str:
    """``per level 50/67/83/100 (levels 1/2/3/4)`` with more than two
    intensity levels, else ``''``."""
    levels = sorted((int(k.rsplit('_', 1)[1]), mean_of(record, k))
                    for k in record['aggregate']
                    if k.startswith('fer/acc_intensity_'))
    if len(levels) <= 2:
        return ''
    return ('per level ' + '/'.join(fmt(v, 0) for _, v in levels)
            + f' (levels {"/".join(str(k) for k, _ in levels)})')


def also_clustering(record: dict) -> str:
    """``cluster acc 40.0, NMI 20.0`` for runs with clustering metrics."""
    if 'cluster/acc' not in record['aggregate']:
        return ''
    return (f'cluster acc {fmt(mean_of(record, "cluster/acc"))}, '
            f'NMI {fmt(mean_of(record, "cluster/nmi"))}')


#: The *Also* column of every run, before the run's own ``also``.
DEFAULT_ALSO = (also_intensity_levels, also_clustering)


def leaderboard_rows(records: dict) -> List[dict]:
    """Rows of the combined table, in registry (:data:`RUNS`) order; records
    of runs not registered here are left out."""
    rows = []
    for name, spec in RUNS.items():
        rec = records.get(name)
        if rec is None:
            continue
        p = rec['protocol']
        extra = [text for text in (f(rec) for f in DEFAULT_ALSO + spec.also)
                 if text]
        std = rec['aggregate'].get('fer/top1', {}).get('std')
        acc = fmt(mean_of(rec, 'fer/top1'), 2)
        if std is not None and len(rec['folds']) > 1:
            acc += f' ± {std:.2f}'
        wall = sum(rec.get('wall_s', {}).values())
        levels_range = '-'.join(
            str(i) for i in (p['intensities'][0], p['intensities'][-1]))
        rows.append(
            dict(name=name, method=rec['method'],
                 supervision=rec['supervision'],
                 evaluation=rec['evaluation'],
                 data=f'{p["dataset"]}, int. {levels_range}',
                 split=f'{p["subjects"]} subj., fold '
                 f'{",".join(str(f) for f in p["folds_tested"])}/'
                 f'{p["folds"]}',
                 accuracy=acc,
                 mean_class=fmt(mean_of(rec, 'fer/mean_class_acc'), 2),
                 extra='; '.join(extra),
                 epochs=rec.get('epochs'),
                 train_min=fmt(wall / 60.0) if wall else '-'))
    return rows


def format_leaderboard(records: dict, title_suffix: str = '') -> str:
    """The combined Markdown table of every registered run in
    ``records``."""
    lines = [TABLE_TITLE + title_suffix, '', f'> **{SYNTHETIC_NOTE}**', '']
    lines.extend(TABLE_HEAD)
    for r in leaderboard_rows(records):
        lines.append(
            f'| {r["method"]} | {r["supervision"]} | {r["evaluation"]} | '
            f'{r["data"]} | {r["split"]} | {r["accuracy"]} | '
            f'{r["mean_class"]} | {r["extra"]} | {r["epochs"]} | '
            f'{r["train_min"]} |')
    return '\n'.join(lines)


def results_for_leaderboard(record: dict) -> dict:
    """A RESULTS.json object for ``tools/leaderboard.py --benchmark
    synthetic`` (:mod:`mmfer4d.leaderboards`): label, protocol and the
    fold means (no spread with one held-out fold)."""
    from mmfer4d.apis.kfold import leaderboard_values
    p = record['protocol']
    values = leaderboard_values(record['aggregate'], {})
    if len(record['folds']) < 2:
        for item in values.values():
            item['std'] = None
    return dict(
        label=f'{record["method"]} ({record["evaluation"]})',
        protocol=dict(dataset=p['dataset'], subjects=p['subjects'],
                      folds=p['folds'], classes=p['classes'],
                      intensities=p['intensities'], seeds=[0]),
        leaderboard=values)
