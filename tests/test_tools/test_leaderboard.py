# Copyright (c) mmfer4d contributors. All rights reserved.
import importlib.util
import json
import os.path as osp

import pytest

from mmfer4d.leaderboards import (BenchmarkMismatchError, list_benchmarks,
                                  load_leaderboard, load_results, rank_results)

TOOL = osp.join(osp.dirname(__file__), '..', '..', 'tools', 'leaderboard.py')
BP4D_AUS = [1, 2, 4, 6, 7, 10, 12, 14, 15, 17, 23, 24]
DISFA_AUS = [1, 2, 4, 6, 9, 12, 25, 26]


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('_tool_leaderboard', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _results(path, value, folds=10, classes=6, label='ours',
             dataset='BU4DFEDataset', metric='accuracy', **protocol):
    protocol = dict(dict(subjects=101, folds=folds, classes=classes,
                         intensities=None), **protocol)
    if dataset is not None:
        protocol['dataset'] = dataset
    path.write_text(json.dumps(dict(
        label=label, protocol=protocol,
        leaderboard={metric: dict(value=value, std=1.5)})))
    return str(path)


def _au_results(path, value, aus=BP4D_AUS, dataset='BP4DDataset'):
    return _results(path, value, folds=3, classes=None, dataset=dataset,
                    metric='f1', subjects=41 if aus == BP4D_AUS else 27,
                    aus=aus)


def test_every_benchmark_file_loads_with_sources():
    names = list_benchmarks()
    for name in ('bu3dfe', 'bosphorus', 'bu4dfe', 'bp4d', 'fourdme',
                 'synthetic', 'bp4d_au', 'disfa_au'):
        assert name in names
        board = load_leaderboard(name)
        assert board['datasets'] and board['default_metric'] in \
            board['metrics']
        for entry in board['entries']:
            assert entry['source'] and isinstance(entry['value'], float)
            assert entry['metric'] in board['metrics']
    # The four entries of the shared published.yml.
    assert len(load_leaderboard('bu4dfe')['entries']) == 4


def test_au_boards_hold_the_me_graphau_readme_tables():
    # Typed from CVI-SZU/ME-GraphAU README.md, "Main Results", Avg. column.
    bp4d = {e['method']: e for e in load_leaderboard('bp4d_au')['entries']}
    disfa = {e['method']: e for e in load_leaderboard('disfa_au')['entries']}
    assert {k: v['value'] for k, v in bp4d.items()} == {
        'EAC-Net': 55.9, 'JAA-Net': 60.0, 'LP-Net': 61.0, 'ARL': 61.1,
        'SEV-Net': 63.9, 'FAUDT': 64.2, 'SRERL': 62.9, 'UGN-B': 63.3,
        'HMP-PS': 63.4, 'ME-GraphAU (ResNet-50)': 64.7,
        'ME-GraphAU (Swin-B)': 65.5}
    assert {k: v['value'] for k, v in disfa.items()} == {
        'EAC-Net': 48.5, 'JAA-Net': 56.0, 'LP-Net': 56.9, 'ARL': 58.7,
        'SEV-Net': 58.8, 'FAUDT': 61.5, 'SRERL': 55.9, 'UGN-B': 60.0,
        'HMP-PS': 61.0, 'ME-GraphAU (ResNet-50)': 63.1,
        'ME-GraphAU (Swin-B)': 62.4}
    assert all(e['metric'] == 'f1' and 'ME-GraphAU' in e['source']
               for e in list(bp4d.values()) + list(disfa.values()))
    assert bp4d['ARL']['protocol']['aus'] == BP4D_AUS
    assert disfa['ARL']['protocol']['aus'] == DISFA_AUS
    assert bp4d['ME-GraphAU (Swin-B)']['protocol']['subjects'] == 41
    assert disfa['ME-GraphAU (Swin-B)']['protocol']['subjects'] == 27
    # Unstated in the README for the other methods: left null.
    assert bp4d['ARL']['protocol']['folds'] is None


def test_unverified_entries_are_shown_apart(tool, tmp_path, capsys):
    res = _results(tmp_path / 'r.json', 97.0)
    png = tmp_path / 'board.png'
    assert tool.main([res, '--benchmark', 'bu4dfe', '--label', 'SMILE-VLM',
                      '--out-png', str(png)]) == 0
    out = capsys.readouterr().out
    ranked, _, rest = out.partition('Unverified published results')
    # Every BU-4DFE entry leaves subjects unstated: none shares our rank.
    assert '| 1 | **SMILE-VLM (ours)** |  | **97.00 ± 1.50** |' in ranked
    assert 'No verified published accuracy result' in ranked
    assert 'ours would rank 3' in rest
    rows = [line for line in rest.splitlines()
            if line.startswith('| ') and '(unverified)' in line]
    assert [r.split(' | ')[2] for r in rows] == [
        '99.69', '99.41', '96.50', '94.18']
    assert 'CCDN' in rows[2] and rows[2].split(' | ')[3] == 'subjects'
    assert png.is_file() and png.read_bytes()[:4] == b'\x89PNG'


def test_refuses_a_result_of_another_dataset(tool, tmp_path, capsys):
    synthetic = _results(tmp_path / 's.json', 97.0, dataset='SyntheticFER3D')
    assert tool.main([synthetic, '--benchmark', 'bu4dfe']) == 2
    err = capsys.readouterr().err
    assert 'obtained on SyntheticFER3D' in err and 'BU4DFEDataset' in err
    unknown = _results(tmp_path / 'u.json', 97.0, dataset=None)
    assert tool.main([unknown, '--benchmark', 'bu4dfe']) == 2
    assert 'does not state its data set' in capsys.readouterr().err
    assert tool.main([unknown, '--benchmark', 'bu4dfe',
                      '--protocol-dataset', 'mmfer4d.BU4DFEDataset']) == 0


def test_refuses_a_metric_the_benchmark_does_not_rank(tool, tmp_path,
                                                      capsys):
    # Both BP4D benchmarks rank BP4D results: the metric tells them apart.
    au = _au_results(tmp_path / 'au.json', 64.0)
    assert tool.main([au, '--benchmark', 'bp4d']) == 2
    assert "ranks accuracy ('accuracy'), and the result has ['f1']" in \
        capsys.readouterr().err
    expression = _results(tmp_path / 'e.json', 90.0, dataset='BP4DDataset')
    assert tool.main([expression, '--benchmark', 'bp4d_au']) == 2
    assert 'mean F1 over AUs' in capsys.readouterr().err
    board = load_leaderboard('bp4d')
    with pytest.raises(BenchmarkMismatchError, match="not 'f1'"):
        rank_results(board, [load_results(au)], 'f1')


def test_au_result_ranks_among_verified_au_entries(tool, tmp_path, capsys):
    res = _au_results(tmp_path / 'au.json', 64.0)
    assert tool.main([res, '--benchmark', 'bp4d_au']) == 0
    out = capsys.readouterr().out
    ranked = out.partition('Unverified')[0]
    assert '| 1 | ME-GraphAU (Swin-B) | 2022 | 65.50 |' in ranked
    assert '| 2 | ME-GraphAU (ResNet-50) | 2022 | 64.70 |' in ranked
    assert '| 3 | **ours (ours)** |' in ranked
    # FAUDT (64.2) is above ours among all, but unverified.
    assert 'ours would rank 4' in out and '| FAUDT (unverified) |' in out
    # Another AU set is another protocol: refused.
    other = _au_results(tmp_path / 'o.json', 64.0, aus=DISFA_AUS)
    assert tool.main([other, '--benchmark', 'bp4d_au']) == 2
    assert 'aus ours=' in capsys.readouterr().err


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
    assert len(table['unverified']) == 3
    assert table['rows'][-1]['ours']


def test_protocol_option_may_not_contradict(tool, tmp_path, capsys):
    res = _results(tmp_path / 'r.json', 97.0)
    assert tool.main([res, '--benchmark', 'bu4dfe',
                      '--protocol-folds', '5']) == 2
    assert 'contradicts' in capsys.readouterr().err


def test_synthetic_benchmark_labelled(tool, tmp_path, capsys):
    a = _results(tmp_path / 'a.json', 80.0, label='SMILE-VLM',
                 dataset='SyntheticFER3D')
    b = _results(tmp_path / 'b.json', 85.0, label='baseline',
                 dataset='SyntheticFER3D')
    assert tool.main([a, b, '--benchmark', 'synthetic']) == 0
    out = capsys.readouterr().out
    assert 'Synthetic benchmark' in out and 'not comparable' in out
    assert out.index('baseline') < out.index('SMILE-VLM (ours)**')


def test_chart_shows_whole_names_inside_the_figure(tmp_path):
    from matplotlib.image import imread

    from mmfer4d.leaderboards import leaderboard_figure, plot_leaderboard
    long = ('A method with a deliberately long name that no chart may cut '
            'short (multi-view, 4D, text-guided)')
    res = _results(tmp_path / 'r.json', 97.0, label=long)
    table = rank_results(load_leaderboard('bu4dfe'), [load_results(res)])
    fig = leaderboard_figure(table)
    renderer = fig.canvas.get_renderer()
    labels = [' '.join(t.get_text().split())
              for t in fig.axes[0].get_yticklabels()]
    assert labels == [
        'Sparsity-aware deep learning (multi-view RGB+depth, LSTM) '
        '(unverified)',
        'FACET-VLM (unverified)', long + ' (ours)',
        'CCDN (Collaborative Cross-domain Dynamic Image Network) '
        '(unverified)',
        'Zhen et al. (motion magnification) (unverified)']
    box = fig.bbox
    texts = list(fig.axes[0].get_yticklabels()) + fig.axes[0].texts + \
        fig.texts + [fig.axes[0].get_legend()]
    for text in texts:
        ext = text.get_window_extent(renderer)
        assert ext.x0 >= 0 and ext.y0 >= 0, text
        assert ext.x1 <= box.width and ext.y1 <= box.height, text
    # The ticks' labels do not overlap each other.
    exts = sorted((t.get_window_extent(renderer)
                   for t in fig.axes[0].get_yticklabels()),
                  key=lambda e: e.y0)
    assert all(a.y1 <= b.y0 for a, b in zip(exts, exts[1:]))
    png = plot_leaderboard(table, str(tmp_path / 'chart.png'))
    assert imread(png).shape[:2] == (round(box.height), round(box.width))


def test_bad_inputs(tmp_path):
    with pytest.raises(FileNotFoundError, match='known benchmarks'):
        load_leaderboard('nope')
    bad = tmp_path / 'bad.json'
    bad.write_text('{"label": "x"}')
    with pytest.raises(ValueError, match='nothing to rank'):
        load_results(str(bad))
    board = tmp_path / 'board.yml'
    board.write_text('benchmark: x\nmetrics: [accuracy]\nentries: []\n')
    with pytest.raises(ValueError, match="no 'datasets'"):
        load_leaderboard(str(board))
    board.write_text('benchmark: x\ndatasets: [A]\nmetrics: [accuracy]\n'
                     'entries:\n- {method: m, year: null, metric: f1, '
                     'value: 1.0, source: s}\n')
    with pytest.raises(ValueError, match="metric 'f1'"):
        load_leaderboard(str(board))
