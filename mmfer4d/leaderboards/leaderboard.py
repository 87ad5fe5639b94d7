# Copyright (c) mmfer4d contributors. All rights reserved.
"""Published results per benchmark, and our results, as read from files.

A benchmark is a YAML file beside this module (``bu3dfe.yml``, ...) with

- ``benchmark``, ``title``;
- ``datasets``: the data set types (registry names) whose results it ranks;
- ``metrics``: the metrics it ranks (``accuracy``, ``uf1``, ``uar``, ``f1``
  = mean F1 over AUs) and ``default_metric``;
- ``protocol_keys``: the protocol fields compared (a subset of
  :data:`PROTOCOL_KEYS`; defaults to subjects, folds, intensities, classes);
- optional ``synthetic: true``;
- ``entries``: published results, each with ``method``, ``year`` (null
  when the source does not give it), ``metric``, ``value`` (percent),
  ``protocol`` (the fields of ``protocol_keys``; null when the source does
  not state it), ``source`` (paper title, arXiv id or DOI, or repository
  file and commit) and an optional ``note``.

Our results are read from a RESULTS.json file (written by
``tools/kfold.py`` as ``summary.json``; see :func:`load_results`).
:mod:`mmfer4d.leaderboards.ranking` places them among the published ones.
"""
import json
import os.path as osp
from glob import glob
from typing import List, Optional

import yaml

PROTOCOL_KEYS = ('subjects', 'folds', 'intensities', 'classes', 'aus')
DEFAULT_PROTOCOL_KEYS = ('subjects', 'folds', 'intensities', 'classes')
METRICS = ('accuracy', 'uf1', 'uar', 'f1')
LEADERBOARD_DIR = osp.dirname(osp.abspath(__file__))


def list_benchmarks() -> List[str]:
    """Names of the benchmark files shipped with mmfer4d."""
    return sorted(
        osp.splitext(osp.basename(p))[0]
        for p in glob(osp.join(LEADERBOARD_DIR, '*.yml')))


def au_numbers(aus) -> Optional[list]:
    """AU names or numbers (``'AU12'``, ``12``) as sorted numbers."""
    if aus is None:
        return None
    out = []
    for au in aus:
        text = str(au).upper().replace('AU', '')
        out.append(int(text) if text.isdigit() else str(au))
    return sorted(out, key=lambda a: (isinstance(a, str), a))


def normalize_protocol(protocol: Optional[dict]) -> dict:
    """Protocol fields in one form: ``folds`` an int or ``'loso'``,
    ``intensities`` sorted, ``aus`` sorted AU numbers, ``dataset`` the data
    set type(s) without registry scope (a list)."""
    protocol = dict(protocol or {})
    folds = protocol.get('folds')
    if folds is None and 'num_folds' in protocol:
        folds = protocol['num_folds']
    if isinstance(folds, str) and folds.lower() in ('loso', 'none'):
        folds = 'loso'
    out = {k: protocol.get(k) for k in PROTOCOL_KEYS}
    out['folds'] = folds
    if isinstance(out['intensities'], (list, tuple)):
        out['intensities'] = sorted(out['intensities'])
    out['aus'] = au_numbers(out['aus'])
    dataset = protocol.get('dataset')
    if isinstance(dataset, str):
        dataset = dataset.split('+')
    out['dataset'] = None if not dataset else [
        str(d).split('.')[-1] for d in dataset
    ]
    return out


def load_leaderboard(benchmark: str) -> dict:
    """The published results of one benchmark.

    Args:
        benchmark (str): A name from :func:`list_benchmarks` or the path of
            a YAML file in the same format.

    Returns:
        dict: ``benchmark``, ``title``, ``datasets``, ``metrics``,
        ``default_metric``, ``protocol_keys``, ``synthetic``, ``entries``
        (list of dicts with a normalised ``protocol``) and ``path``.

    Raises:
        FileNotFoundError: For an unknown benchmark.
        ValueError: If the file lacks ``datasets`` or ``metrics``, or an
            entry lacks a field, has a value that is not a number or a
            metric the benchmark does not rank.
    """
    path = benchmark if benchmark.endswith(('.yml', '.yaml')) else osp.join(
        LEADERBOARD_DIR, f'{benchmark}.yml')
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'no leaderboard file for benchmark {benchmark!r} ({path}); '
            f'known benchmarks: {", ".join(list_benchmarks())}')
    with open(path, encoding='utf-8') as f:
        data = yaml.safe_load(f) or {}
    for field in ('datasets', 'metrics'):
        if not data.get(field):
            raise ValueError(f'{path}: no {field!r} (which results the '
                             'benchmark ranks)')
    metrics = [str(m) for m in data['metrics']]
    keys = tuple(data.get('protocol_keys') or DEFAULT_PROTOCOL_KEYS)
    unknown = [k for k in keys if k not in PROTOCOL_KEYS]
    if unknown:
        raise ValueError(f'{path}: unknown protocol_keys {unknown}; known: '
                         f'{list(PROTOCOL_KEYS)}')
    entries = []
    for i, entry in enumerate(data.get('entries') or []):
        missing = [
            k for k in ('method', 'metric', 'value', 'source')
            if entry.get(k) is None
        ]
        if missing or 'year' not in entry:
            raise ValueError(f'{path}: entry {i} ({entry.get("method")}) '
                             f'lacks {missing or ["year"]}')
        if not isinstance(entry['value'], (int, float)):
            raise ValueError(f'{path}: entry {i} value is not a number: '
                             f'{entry["value"]!r}')
        if entry['metric'] not in metrics:
            raise ValueError(f'{path}: entry {i} ({entry["method"]}) has '
                             f'metric {entry["metric"]!r}; the benchmark '
                             f'ranks {metrics}')
        entry = dict(entry, value=float(entry['value']))
        entry['protocol'] = normalize_protocol(entry.get('protocol'))
        entries.append(entry)
    return dict(
        benchmark=data.get('benchmark', benchmark),
        title=data.get('title', benchmark),
        datasets=[str(d).split('.')[-1] for d in data['datasets']],
        metrics=metrics,
        default_metric=data.get('default_metric', metrics[0]),
        protocol_keys=keys,
        synthetic=bool(data.get('synthetic', False)),
        entries=entries,
        path=path)


def load_results(path: str, label: Optional[str] = None) -> dict:
    """Read one RESULTS.json file.

    The file is a JSON object with

    - ``label`` (str, optional): the name shown in the table;
    - ``protocol`` (dict): ``dataset`` (the data set type, e.g.
      ``'BU3DFEDataset'``; ``'A+B'`` for several), ``subjects`` (int),
      ``folds`` (int or ``'loso'``), ``classes`` (int), ``intensities``
      (list or null), ``aus`` (AU numbers, for AU detection), optionally
      ``seeds``;
    - ``leaderboard`` (dict): ``{metric: {"value": v, "std": s}}`` with
      metric names as in the leaderboard files (``accuracy``, ``uf1``,
      ``uar``, ``f1``) and values in percent. ``tools/kfold.py`` writes it;
      a hand-written file may instead give ``metric`` and ``value`` at the
      top level.

    Returns:
        dict: ``label``, ``protocol`` (normalised), ``values``
        (``{metric: {'value', 'std'}}``) and ``path``.

    Raises:
        ValueError: If the file is not such an object.
    """
    with open(path, encoding='utf-8') as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as err:
            raise ValueError(f'{path}: not valid JSON ({err})') from None
    if not isinstance(data, dict):
        raise ValueError(f'{path}: expected a JSON object')
    values = {}
    for metric, item in (data.get('leaderboard') or {}).items():
        item = item if isinstance(item, dict) else dict(value=item)
        values[metric] = dict(value=item.get('value'), std=item.get('std'))
    if 'metric' in data and 'value' in data:
        values[data['metric']] = dict(value=data['value'],
                                      std=data.get('std'))
    if not values:
        raise ValueError(f'{path}: no "leaderboard" entry and no top-level '
                         '"metric"/"value": nothing to rank')
    return dict(
        label=label or data.get('label') or osp.splitext(
            osp.basename(path))[0],
        protocol=normalize_protocol(data.get('protocol')),
        values=values,
        path=path)
