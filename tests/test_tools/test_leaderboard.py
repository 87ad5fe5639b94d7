# Copyright (c) mmfer4d contributors. All rights reserved.
import importlib.util
import json
import os.path as osp

import pytest

from mmfer4d.leaderboards import (list_benchmarks,
                                  load_leaderboard, load_results,
                                  rank_results)

TOOL = osp.join(osp.dirname(__file__), '..', '..', 'tools', 'leaderboard.py')


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('_tool_leaderboard', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _results(path, value, folds=10, classes=6, label='ours'):
    path.write_text(json.dumps(dict(
        label=label,
        protocol=dict(subjects=60, folds=folds, classes=classes,
                      intensities=None),
        leaderboard=dict(accuracy=dict(value=value, std=1.5)))))
    return str(path)


def test_every_benchmark_file_loads_with_sources():
    names = list_benchmarks()
    for name in ('bu3dfe', 'bosphorus', 'bu4dfe', 'bp4d', 'fourdme',
                 'synthetic'):
        assert name in names
        board = load_leaderboard(name)
        for entry in board['entries']:
            assert entry['source'] and isinstance(entry['value'], float)
    # The four entries of the shared published.yml.
    assert len(load_leaderboard('bu4dfe')['entries']) == 4


def test_ranked_table_and_png(tool, tmp_path, capsys):
    res = _results(tmp_path / 'r.json', 97.0)
    png = tmp_path / 'board.png'
    assert tool.main([res, '--benchmark', 'bu4dfe', '--label', 'SMILE-VLM',
                      '--out-png', str(png)]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith('| ')]
    # Header, separator, then 99.69, 99.41, ours (rank 3), 96.5, 94.18.
    assert lines[4].startswith('| 3 | **SMILE-VLM (ours)**')
    assert '96.50' in lines[5]
    assert '†' in out  # unstated protocol fields flagged
    assert png.is_file() and png.read_bytes()[:4] == b'\x89PNG'


def test_refuses_different_protocol(tool, tmp_path, capsys):
    res = _results(tmp_path / 'r.json', 97.0, classes=7)
    assert tool.main([res, '--benchmark', 'bu4dfe']) == 2
    err = capsys.readouterr().err
    assert 'refusing to rank' in err and 'classes ours=7' in err


def test_stated_folds_exclude_mismatching_entry(tmp_path):
    board = load_leaderboard('bu4dfe')
    table = rank_results(board, [load_results(
        _results(tmp_path / 'r.json', 90.0, folds=5))])
    assert [r['method'] for r in table['excluded']] == [
        'CCDN (Collaborative Cross-domain Dynamic Image Network)']
    assert table['rows'][-1]['ours']


def test_protocol_option_may_not_contradict(tool, tmp_path, capsys):
    res = _results(tmp_path / 'r.json', 97.0)
    assert tool.main([res, '--benchmark', 'bu4dfe',
                      '--protocol-folds', '5']) == 2
    assert 'contradicts' in capsys.readouterr().err


def test_synthetic_benchmark_labelled(tool, tmp_path, capsys):
    a = _results(tmp_path / 'a.json', 80.0, label='SMILE-VLM')
    b = _results(tmp_path / 'b.json', 85.0, label='baseline')
    assert tool.main([a, b, '--benchmark', 'synthetic']) == 0
    out = capsys.readouterr().out
    assert 'Synthetic benchmark' in out and 'not comparable' in out
    assert out.index('baseline') < out.index('SMILE-VLM (ours)**')


def test_bad_inputs(tmp_path):
    with pytest.raises(FileNotFoundError, match='known benchmarks'):
        load_leaderboard('nope')
    bad = tmp_path / 'bad.json'
    bad.write_text('{"label": "x"}')
    with pytest.raises(ValueError, match='nothing to rank'):
        load_results(str(bad))
