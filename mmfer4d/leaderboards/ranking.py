# Copyright (c) mmfer4d contributors. All rights reserved.
"""Place our results among the published ones of a benchmark.

A result is ranked on a benchmark only when

- its data set is one the benchmark ranks (``datasets`` of the YAML file):
  a SyntheticFER3D run is no BU-4DFE result;
- it has the metric ranked, and that metric is one of the benchmark's: an
  AU mean F1 is not an expression accuracy;
- no protocol field stated both by it and by a published entry differs
  (entries that differ are listed apart, not ranked).

A published entry whose source leaves a protocol field unstated (null in
the YAML file) is **unverified**: it is shown apart from the verified
entries (every field stated and equal to ours), which alone share our
ranking.
"""
import math
from typing import Dict, Optional, Sequence

__all__ = [
    'ProtocolMismatchError', 'BenchmarkMismatchError', 'compare_protocols',
    'rank_results', 'format_markdown'
]

METRIC_NAMES = dict(
    accuracy='accuracy', uf1='UF1', uar='UAR', f1='mean F1 over AUs')


class ProtocolMismatchError(ValueError):
    """Our result's protocol differs from every published one."""


class BenchmarkMismatchError(ValueError):
    """Our result is not one the benchmark ranks (data set or metric)."""


def compare_protocols(ours: dict, theirs: dict,
                      keys: Sequence[str]) -> tuple:
    """Differences and unknowns between two normalised protocols.

    Args:
        ours (dict): A normalised protocol.
        theirs (dict): Another one.
        keys (Sequence[str]): The fields compared.

    Returns:
        tuple[dict, list]: ``{key: (ours, theirs)}`` for fields stated by
        both that differ, and the keys unstated on either side.
    """
    differ, unknown = {}, []
    for key in keys:
        a, b = ours.get(key), theirs.get(key)
        if a is None or b is None:
            unknown.append(key)
        elif a != b:
            differ[key] = (a, b)
    return differ, unknown


def _check_belongs(board: dict, res: dict, metric: str) -> None:
    """Raise unless ``res`` is a result of ``board``'s data set and has
    ``metric``."""
    datasets = res['protocol'].get('dataset')
    if not datasets:
        raise BenchmarkMismatchError(
            f'{res["path"]} does not state its data set (protocol.dataset, '
            f'or --protocol-dataset); {board["benchmark"]} ranks results '
            f'on {", ".join(board["datasets"])} only')
    foreign = [d for d in datasets if d not in board['datasets']]
    if foreign:
        raise BenchmarkMismatchError(
            f'refusing to rank {res["path"]} on {board["benchmark"]}: it was '
            f'obtained on {"+".join(datasets)}, and the benchmark ranks '
            f'results on {", ".join(board["datasets"])} only')
    value = res['values'].get(metric, {}).get('value')
    if value is None:
        have = sorted(res['values'])
        raise BenchmarkMismatchError(
            f'refusing to rank {res["path"]} on {board["benchmark"]}: the '
            f'benchmark ranks {METRIC_NAMES.get(metric, metric)} '
            f'({metric!r}), and the result has {have}')


def _row(method, year, value, std, ours, unknown, source) -> dict:
    return dict(method=method, year=year, value=float(value), std=std,
                ours=ours, unknown=unknown, source=source)


def _sort_and_rank(rows: list) -> list:
    rows.sort(key=lambda r: -r['value'] if math.isfinite(r['value']) else 0)
    for i, row in enumerate(rows):
        row['rank'] = i + 1
    return rows


def rank_results(board: dict,
                 results: Sequence[dict],
                 metric: Optional[str] = None) -> dict:
    """Place our results among the published ones of the same protocol.

    Args:
        board (dict): From :func:`~mmfer4d.leaderboards.load_leaderboard`.
        results (Sequence[dict]): From
            :func:`~mmfer4d.leaderboards.load_results`; all must share one
            protocol.
        metric (str, optional): Leaderboard metric. Defaults to the
            benchmark's ``default_metric``.

    Returns:
        dict: ``benchmark``, ``title``, ``metric``, ``protocol_keys``,
        ``protocol``, ``rows`` (ours and the verified published entries,
        best first, each with ``rank``, ``method``, ``year``, ``value``,
        ``std``, ``ours``, ``unknown`` and ``source``), ``unverified``
        (published entries with unstated protocol fields, best first, each
        with ``unknown``), ``excluded`` (entries of another protocol with
        their ``differences``), ``rank_among_all`` (the rank of our best
        result if the unverified entries were comparable) and
        ``synthetic``.

    Raises:
        BenchmarkMismatchError: If the benchmark does not rank ``metric``,
            or a result is on another data set, states none, or lacks the
            metric.
        ProtocolMismatchError: If our results disagree in protocol among
            themselves, or published results exist for the metric but every
            one was obtained under a protocol that differs from ours.
    """
    metric = metric or board['default_metric']
    if metric not in board['metrics']:
        raise BenchmarkMismatchError(
            f'{board["benchmark"]} ranks {board["metrics"]}, not '
            f'{metric!r} ({METRIC_NAMES.get(metric, metric)})')
    if not results:
        raise ValueError('no results to rank')
    keys = board['protocol_keys']
    for res in results:
        _check_belongs(board, res, metric)
    protocol = results[0]['protocol']
    for res in results[1:]:
        differ, _ = compare_protocols(protocol, res['protocol'], keys)
        if differ:
            raise ProtocolMismatchError(
                f'{res["path"]} and {results[0]["path"]} were obtained under '
                f'different protocols: {_format_differences(differ)}')
    rows = [
        _row(res['label'], None, res['values'][metric]['value'],
             res['values'][metric].get('std'), True,
             [k for k in keys if protocol.get(k) is None], res['path'])
        for res in results
    ]
    unverified, excluded = [], []
    published = [e for e in board['entries'] if e['metric'] == metric]
    for entry in published:
        differ, unknown = compare_protocols(protocol, entry['protocol'],
                                            keys)
        row = _row(entry['method'], entry['year'], entry['value'],
                   entry.get('std'), False, unknown, entry['source'])
        if differ:
            row['differences'] = differ
            excluded.append(row)
        elif any(entry['protocol'].get(k) is None for k in keys):
            unverified.append(row)
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
            f'ours ({_format_protocol(protocol, keys)}):\n' + '\n'.join(lines))
    best = max(r['value'] for r in rows if r['ours'])
    among_all = 1 + sum(r['value'] > best for r in rows + unverified
                        if not r['ours'])
    return dict(
        benchmark=board['benchmark'],
        title=board['title'],
        metric=metric,
        protocol_keys=keys,
        protocol=protocol,
        rows=_sort_and_rank(rows),
        unverified=sorted(unverified, key=lambda r: -r['value']),
        excluded=excluded,
        rank_among_all=among_all,
        synthetic=board['synthetic'])


def _format_differences(differ: Dict[str, tuple]) -> str:
    return ', '.join(f'{k} ours={a!r} vs theirs={b!r}'
                     for k, (a, b) in differ.items())


def _format_protocol(protocol: dict, keys: Sequence[str]) -> str:
    dataset = '+'.join(protocol.get('dataset') or ['?'])
    return f'dataset={dataset}, ' + ', '.join(
        f'{k}={protocol.get(k)!r}' for k in keys)


def _value(row: dict) -> str:
    value = f'{row["value"]:.2f}'
    if row.get('std') is not None:
        value += f' ± {float(row["std"]):.2f}'
    return value


def format_markdown(table: dict) -> str:
    """The ranked table as Markdown, then the unverified and the excluded
    published entries, with the protocol and footnotes."""
    metric = table['metric']
    lines = [f'### {table["title"]}', '']
    if table['synthetic']:
        lines += [
            '> **Synthetic benchmark.** These numbers come from '
            'procedurally generated faces and are not comparable with any '
            'result on a real data set.', ''
        ]
    protocol = _format_protocol(table['protocol'], table['protocol_keys'])
    lines += [
        f'Protocol: {protocol}; metric: {METRIC_NAMES.get(metric, metric)} '
        '(%)', '',
        f'| Rank | Method | Year | {metric} (%) | Source |',
        '| ---: | --- | ---: | ---: | --- |'
    ]
    for row in table['rows']:
        name = f'**{row["method"]} (ours)**' if row['ours'] else row['method']
        value = f'**{_value(row)}**' if row['ours'] else _value(row)
        year = '' if row['year'] is None else str(row['year'])
        lines.append(f'| {row["rank"]} | {name} | {year} | {value} | '
                     f'{row["source"]} |')
    verified = [r for r in table['rows'] if not r['ours']]
    if not verified and not table['synthetic']:
        lines += ['', f'No verified published {metric} result under this '
                  f'protocol is listed for {table["benchmark"]} yet.']
    if table['unverified']:
        lines += [
            '', 'Unverified published results (the source leaves protocol '
            'fields unstated, so the comparison may not be like for like; '
            f'among all listed results ours would rank '
            f'{table["rank_among_all"]}):', '',
            f'| Method | Year | {metric} (%) | Unstated | Source |',
            '| --- | ---: | ---: | --- | --- |'
        ]
        for row in table['unverified']:
            year = '' if row['year'] is None else str(row['year'])
            lines.append(f'| {row["method"]} (unverified) | {year} | '
                         f'{_value(row)} | {", ".join(row["unknown"])} | '
                         f'{row["source"]} |')
    if table['excluded']:
        lines += ['', 'Not ranked (different protocol):']
        for row in table['excluded']:
            lines.append(f'- {row["method"]} ({row["year"]}, '
                         f'{row["value"]:.2f}): '
                         f'{_format_differences(row["differences"])}')
    return '\n'.join(lines)
