# Copyright (c) mmfer4d contributors. All rights reserved.
"""mmfer4d/apis/demo/report.py: the run summary and the demo table."""
from mmfer4d.apis.demo import (SYNTHETIC_NOTE, format_confusion,
                               format_leaderboard, format_run,
                               leaderboard_rows)
from mmfer4d.apis.kfold import aggregate_folds

CLASSES = ['anger', 'disgust', 'fear', 'happiness', 'sadness', 'surprise']


def fold_metrics(top1, levels=(3, 4), cluster=None):
    m = {'fer/top1': top1, 'fer/mean_class_acc': top1 - 1.0,
         'fer/classes': CLASSES,
         'fer/confusion_matrix': [[2 if i == j else 0 for j in range(6)]
                                  for i in range(6)]}
    for i, c in enumerate(CLASSES):
        m[f'fer/acc_{c}'] = 10.0 * i
    for k in levels:
        m[f'fer/acc_intensity_{k}'] = 20.0 * k
    if cluster is not None:
        m['cluster/acc'], m['cluster/nmi'] = cluster
    return m


def record(name, folds, method='SMILE-VLM', evaluation='zero-shot',
           intensities=(3, 4), wall=None):
    return dict(
        name=name, method=method, supervision='weak (label prompts)',
        evaluation=evaluation, config=f'configs/{name}.py', folds=folds,
        aggregate=aggregate_folds({0: folds}), epochs=40,
        wall_s=wall if wall is not None else {k: 300.0 for k in folds},
        protocol=dict(dataset='SyntheticFER3D', subjects=100, folds=5,
                      folds_tested=sorted(folds),
                      classes=6, intensities=list(intensities)))


def test_table_of_one_fold_run():
    records = {'smile-vlm': record('smile-vlm', {0: fold_metrics(95.83)})}
    lines = format_leaderboard(records).splitlines()
    assert lines[0] == ('### mmfer4d demo: SMILE-VLM on the synthetic '
                        'benchmark')
    assert lines[2] == f'> **{SYNTHETIC_NOTE}**'
    assert lines[4].startswith('| Method | Supervision | Evaluation |')
    assert lines[6] == (
        '| SMILE-VLM | weak (label prompts) | zero-shot | SyntheticFER3D, '
        'int. 3-4 | 100 subj., fold 0/5 | 95.83 | 94.83 |  | 40 | 5.0 |')
    assert len(lines) == 7


def test_rows_follow_the_registry_and_skip_unknown_runs():
    records = {
        'mv-ce': record('mv-ce', {0: fold_metrics(90.0)},
                        method='Multi-view CE baseline'),
        'someone-elses-run': record('x', {0: fold_metrics(1.0)}),
        'smile-vlm-linear': record('smile-vlm-linear',
                                   {0: fold_metrics(96.25)},
                                   evaluation='linear probe'),
        'smile-vlm': record('smile-vlm', {0: fold_metrics(95.83)}),
    }
    assert [r['name'] for r in leaderboard_rows(records)] == [
        'smile-vlm', 'smile-vlm-linear', 'mv-ce'
    ]


def test_spread_levels_and_clustering_in_the_row():
    folds = {
        0: fold_metrics(80.0, levels=(1, 2, 3, 4), cluster=(40.0, 20.0)),
        1: fold_metrics(90.0, levels=(1, 2, 3, 4), cluster=(60.0, 30.0)),
    }
    rec = record('smile-vlm-i1234', folds, intensities=(1, 2, 3, 4),
                 wall={0: 60.0, 1: 120.0})
    row, = leaderboard_rows({'smile-vlm-i1234': rec})
    assert row['accuracy'].startswith('85.00 ± ')
    assert row['data'] == 'SyntheticFER3D, int. 1-4'
    assert row['split'] == '100 subj., fold 0,1/5'
    assert row['extra'] == ('per level 20/40/60/80 (levels 1/2/3/4); '
                            'cluster acc 50.0, NMI 25.0')
    assert row['train_min'] == '3.0'


def test_missing_values_print_as_dash():
    folds = {0: {'fer/classes': CLASSES}}
    rec = record('smile-vlm', folds, wall={})
    row, = leaderboard_rows({'smile-vlm': rec})
    assert (row['accuracy'], row['mean_class'], row['train_min']) == (
        '-', '-', '-')


def test_run_summary():
    rec = record('smile-vlm', {0: fold_metrics(95.83)})
    text = format_run(rec)
    assert '=== SMILE-VLM, zero-shot (smile-vlm; configs/smile-vlm.py) ===' \
        in text
    assert 'Accuracy: 95.83 %   mean class accuracy: 94.83 %' in text
    assert 'Per-class accuracy (%): anger 0.0, disgust 10.0' in text
    assert 'Accuracy per intensity (%): 3: 60.0, 4: 80.0' in text
    assert 'Confusion matrix (fold 0):' in text
    assert text.rstrip().endswith('Wall time: fold 0: 300 s')


def test_format_confusion_aligns_rows():
    text = format_confusion([[2, 0], [1, 3]], ['anger', 'fear'])
    lines = text.splitlines()
    assert lines[2].split() == ['anger', '2', '0']
    assert lines[3].split() == ['fear', '1', '3']
    assert len({len(line) for line in lines[1:]}) == 1
