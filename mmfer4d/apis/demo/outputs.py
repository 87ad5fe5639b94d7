# Copyright (c) mmfer4d contributors. All rights reserved.
"""The demo's files: ``results.json`` (every run so far), each ranked run's
``RESULTS.json`` and its place on the ``synthetic`` leaderboard."""
import json
import os
import os.path as osp
from typing import Sequence

from mmfer4d.apis.kfold import jsonable

from .registry import RUNS
from .report import SYNTHETIC_NOTE, results_for_leaderboard

RESULTS_FILE = 'results.json'


def collect_records(work_dir: str) -> dict:
    """The records of every run kept in ``WORK_DIR/results.json`` ({} when
    there is none or it is not JSON: the runs are then trained again)."""
    path = osp.join(work_dir, RESULTS_FILE)
    if not osp.isfile(path):
        return {}
    with open(path, encoding='utf-8') as f:
        try:
            return json.load(f).get('runs', {})
        except json.JSONDecodeError:
            return {}


def save_results(work_dir: str, records: dict, outputs: dict,
                 what: Sequence[str], full: bool) -> None:
    """Write ``WORK_DIR/results.json``: every run's record, the outputs
    (PNG and table paths, data counts) merged with earlier ones, and one
    entry per finished invocation (``outputs`` with ``wall_s``). The file
    is replaced atomically."""
    path = osp.join(work_dir, RESULTS_FILE)
    previous = {}
    if osp.isfile(path):
        with open(path, encoding='utf-8') as f:
            try:
                previous = json.load(f)
            except json.JSONDecodeError:
                previous = {}
    invocations = previous.get('invocations', [])
    if 'wall_s' in outputs:
        invocations = invocations + [
            dict(what=list(what), full=full, **jsonable(outputs))
        ]
    data = dict(
        benchmark='synthetic',
        note=SYNTHETIC_NOTE,
        runs=records,
        outputs={**previous.get('outputs', {}), **jsonable(outputs)},
        invocations=invocations)
    tmp = path + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        json.dump(jsonable(data), f, indent=2)
    os.replace(tmp, path)


def ranked_table(records: dict, work_dir: str) -> str:
    """Our ranked runs placed among the ``synthetic`` leaderboard's rows.

    Writes ``WORK_DIR/RUN/RESULTS.json`` of every record whose run is
    ``ranked`` (in registry order) and returns
    :func:`mmfer4d.leaderboards.format_markdown` of their ranking, or
    ``''`` when there is none.
    """
    from mmfer4d.leaderboards import (format_markdown, load_leaderboard,
                                      load_results, rank_results)
    loaded = []
    for name, spec in RUNS.items():
        if not spec.ranked or name not in records:
            continue
        path = osp.join(work_dir, name, 'RESULTS.json')
        with open(path, 'w', encoding='utf-8') as f:
            json.dump(results_for_leaderboard(records[name]), f, indent=2)
        item = load_results(path)
        item['path'] = osp.relpath(item['path'], work_dir)
        loaded.append(item)
    if not loaded:
        return ''
    return format_markdown(rank_results(load_leaderboard('synthetic'),
                                        loaded))
