# Copyright (c) mmfer4d contributors. All rights reserved.
"""Published results per benchmark and the ranking of our results.

A benchmark is a YAML file beside this module (``bu3dfe.yml``, ...) with
``benchmark``, ``title``, ``default_metric``, optional ``synthetic: true``
and ``entries``: published results, each with ``method``, ``year``,
``metric``, ``value`` (percent), ``protocol`` (``subjects``, ``folds``,
``intensities``, ``classes``; null when the source does not state it) and
``source`` (paper title, arXiv id or DOI).

Our results are read from a RESULTS.json file (written by
``tools/kfold.py`` as ``summary.json``; see :func:`load_results`).
A published result is ranked together with ours only when no protocol field
stated by both differs; fields the source leaves unstated are flagged.
"""
import json
import math
import os.path as osp
from glob import glob
from typing import Dict, List, Optional, Sequence

import yaml

PROTOCOL_KEYS = ('subjects', 'folds', 'intensities', 'classes')
LEADERBOARD_DIR = osp.dirname(osp.abspath(__file__))


class ProtocolMismatchError(ValueError):
    """Our result's protocol differs from every published one."""


def list_benchmarks() -> List[str]:
    """Names of the benchmark files shipped with mmfer4d."""
    return sorted(
        osp.splitext(osp.basename(p))[0]
        for p in glob(osp.join(LEADERBOARD_DIR, '*.yml')))


def _normalize_protocol(protocol: Optional[dict]) -> dict:
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
    return out


def load_leaderboard(benchmark: str) -> dict:
    """The published results of one benchmark.

    Args:
        benchmark (str): A name from :func:`list_benchmarks` or the path of
            a YAML file in the same format.

    Returns:
        dict: ``benchmark``, ``title``, ``default_metric``, ``synthetic``
        and ``entries`` (list of dicts with a normalised ``protocol``).

    Raises:
        FileNotFoundError: For an unknown benchmark.
        ValueError: If an entry lacks a field or its value is not a number.
    """
    path = benchmark if benchmark.endswith(('.yml', '.yaml')) else osp.join(
        LEADERBOARD_DIR, f'{benchmark}.yml')
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'no leaderboard file for benchmark {benchmark!r} ({path}); '
            f'known benchmarks: {", ".join(list_benchmarks())}')
    with open(path, encoding='utf-8') as f:
        data = yaml.safe_load(f) or {}
    entries = []
    for i, entry in enumerate(data.get('entries') or []):
        missing = [
            k for k in ('method', 'year', 'metric', 'value', 'source')
            if entry.get(k) is None
        ]
        if missing:
            raise ValueError(f'{path}: entry {i} ({entry.get("method")}) '
                             f'lacks {missing}')
        if not isinstance(entry['value'], (int, float)):
            raise ValueError(f'{path}: entry {i} value is not a number: '
                             f'{entry["value"]!r}')
        entry = dict(entry)
        entry['protocol'] = _normalize_protocol(entry.get('protocol'))
        entries.append(entry)
    return dict(
        benchmark=data.get('benchmark', benchmark),
        title=data.get('title', benchmark),
        default_metric=data.get('default_metric', 'accuracy'),
        synthetic=bool(data.get('synthetic', False)),
        entries=entries,
        path=path)


def load_results(path: str, label: Optional[str] = None) -> dict:
    """Read one RESULTS.json file.

    The file is a JSON object with

    - ``label`` (str, optional): the name shown in the table;
    - ``protocol`` (dict): ``subjects`` (int), ``folds`` (int or
      ``'loso'``), ``classes`` (int), ``intensities`` (list or null),
      optionally ``seeds``;
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
        protocol=_normalize_protocol(data.get('protocol')),
        values=values,
        path=path)


def compare_protocols(ours: dict, theirs: dict) -> tuple:
    """Differences and unknowns between two normalised protocols.

    Returns:
        tuple[dict, list]: ``{key: (ours, theirs)}`` for fields stated by
        both that differ, and the keys unstated on either side.
    """
    differ, unknown = {}, []
    for key in PROTOCOL_KEYS:
        a, b = ours.get(key), theirs.get(key)
        if a is None or b is None:
            unknown.append(key)
        elif a != b:
            differ[key] = (a, b)
    return differ, unknown


def rank_results(board: dict,
                 results: Sequence[dict],
                 metric: Optional[str] = None) -> dict:
    """Place our results among the published ones of the same protocol.

    Args:
        board (dict): From :func:`load_leaderboard`.
        results (Sequence[dict]): From :func:`load_results`; all must share
            one protocol.
        metric (str, optional): Leaderboard metric. Defaults to the
            benchmark's ``default_metric``.

    Returns:
        dict: ``title``, ``metric``, ``protocol``, ``rows`` (sorted best
        first; each with ``rank``, ``method``, ``year``, ``value``, ``std``,
        ``ours``, ``unknown`` (protocol fields unstated) and ``source``),
        ``excluded`` (published rows of another protocol with their
        differences) and ``synthetic``.

    Raises:
        ProtocolMismatchError: If our results disagree in protocol among
            themselves, or published results exist for the metric but every
            one was obtained under a protocol that differs from ours.
        KeyError: If a result has no value for the metric.
    """
    metric = metric or board['default_metric']
    if not results:
        raise ValueError('no results to rank')
    protocol = results[0]['protocol']
    for res in results[1:]:
        differ, _ = compare_protocols(protocol, res['protocol'])
        if differ:
            raise ProtocolMismatchError(
                f'{res["path"]} and {results[0]["path"]} were obtained under '
                f'different protocols: {_format_differences(differ)}')
    rows, excluded = [], []
    for res in results:
        if metric not in res['values'] or res['values'][metric][
                'value'] is None:
            raise KeyError(f'{res["path"]} has no value for metric '
                           f'{metric!r} (it has {sorted(res["values"])})')
        rows.append(
            dict(
                method=res['label'],
                year=None,
                value=float(res['values'][metric]['value']),
                std=res['values'][metric].get('std'),
                ours=True,
                unknown=[k for k in PROTOCOL_KEYS if protocol[k] is None],
                source=res['path']))
    published = [e for e in board['entries'] if e['metric'] == metric]
    for entry in published:
        differ, unknown = compare_protocols(protocol, entry['protocol'])
        row = dict(
            method=entry['method'],
            year=entry['year'],
            value=float(entry['value']),
            std=entry.get('std'),
            ours=False,
            unknown=unknown,
            source=entry['source'])
        if differ:
            row['differences'] = differ
            excluded.append(row)
        else:
            rows.append(row)
    if published and len(excluded) == len(published):
        lines = [
            f'  - {r["method"]} ({r["year"]}): '
            f'{_format_differences(r["differences"])}' for r in excluded
        ]
        raise ProtocolMismatchError(
            f'refusing to rank on {board["benchmark"]}: every published '
            f'{metric} result was obtained under a different protocol than '
            f'ours ({_format_protocol(protocol)}):\n' + '\n'.join(lines))
    rows.sort(key=lambda r: -r['value'] if math.isfinite(r['value']) else 0)
    for i, row in enumerate(rows):
        row['rank'] = i + 1
    return dict(
        benchmark=board['benchmark'],
        title=board['title'],
        metric=metric,
        protocol=protocol,
        rows=rows,
        excluded=excluded,
        synthetic=board['synthetic'])


def _format_differences(differ: Dict[str, tuple]) -> str:
    return ', '.join(f'{k} ours={a!r} vs theirs={b!r}'
                     for k, (a, b) in differ.items())


def _format_protocol(protocol: dict) -> str:
    return ', '.join(f'{k}={protocol.get(k)!r}' for k in PROTOCOL_KEYS)


def format_markdown(table: dict) -> str:
    """The ranked table as Markdown, with the protocol and footnotes."""
    lines = [f'### {table["title"]}', '']
    if table['synthetic']:
        lines += [
            '> **Synthetic benchmark.** These numbers come from '
            'procedurally generated faces and are not comparable with any '
            'result on a real data set.', ''
        ]
    lines += [f'Protocol: {_format_protocol(table["protocol"])}; '
              f'metric: {table["metric"]} (%)', '']
    lines.append('| Rank | Method | Year | ' + table['metric'] +
                 ' (%) | Source |')
    lines.append('| ---: | --- | ---: | ---: | --- |')
    flagged = False
    for row in table['rows']:
        name = f'**{row["method"]} (ours)**' if row['ours'] else row['method']
        if row['unknown'] and not row['ours']:
            name += ' †'
            flagged = True
        value = f'{row["value"]:.2f}'
        if row.get('std') is not None:
            value += f' ± {float(row["std"]):.2f}'
        if row['ours']:
            value = f'**{value}**'
        year = '' if row['year'] is None else str(row['year'])
        lines.append(f'| {row["rank"]} | {name} | {year} | {value} | '
                     f'{row["source"]} |')
    if flagged:
        lines += [
            '', '† The source does not state every protocol field '
            '(subjects, folds, intensities, classes); the comparison may '
            'not be like for like.'
        ]
    if table['excluded']:
        lines += ['', 'Not ranked (different protocol):']
        for row in table['excluded']:
            lines.append(f'- {row["method"]} ({row["year"]}, '
                         f'{row["value"]:.2f}): '
                         f'{_format_differences(row["differences"])}')
    if len(table['rows']) == sum(r['ours'] for r in table['rows']) and \
            not table['synthetic']:
        lines += [
            '', f'No published {table["metric"]} result under this protocol '
            f'is listed for {table["benchmark"]} yet.'
        ]
    return '\n'.join(lines)
