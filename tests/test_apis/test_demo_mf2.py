# Copyright (c) mmfer4d contributors. All rights reserved.
import math

from mmfer4d.apis import demo_mf2


def _metrics():
    return {
        'au/mean_f1': 60.0,
        'au/f1_AU1': 90.0, 'au/occurrence_AU1': 30.0,
        'au/f1_AU2': float('nan'), 'au/occurrence_AU2': 0.0,
        # Below the 5% occurrence threshold: out of the target mean.
        'au/f1_AU4': 30.0, 'au/occurrence_AU4': 4.9,
        'au/f1_AU6': 70.0, 'au/occurrence_AU6': 5.0,
        'fer/top1': 96.25,
    }


def test_au_table_mean_over_frequent_aus():
    table = demo_mf2.au_table(_metrics())
    assert [r['au'] for r in table['rows']] == ['AU1', 'AU2', 'AU4', 'AU6']
    assert table['num_frequent'] == 2
    assert table['mean_f1_frequent'] == 80.0
    assert math.isclose(table['mean_f1_all'], (90 + 30 + 70) / 3)
    assert demo_mf2._accuracy(_metrics()) == 96.25


def test_table_rows_and_missing_transfer():
    table = demo_mf2.au_table(_metrics())
    result = dict(mf2=dict(au=table, accuracy=96.25, epochs=30,
                           wall_s=600.0), transfer=None)
    text = demo_mf2.format_table(result)
    lines = text.splitlines()
    assert lines[0].startswith('| Method | Supervision | Evaluation |')
    assert '| 96.25 |' in lines[2] and 'mean AU F1 80.00 (2 AUs' in lines[2]
    assert 'DFN module is not installed' in lines[3]
    rows = [dict(method='DFN (frozen backbone + side network)',
                 mean_f1_frequent=75.0, num_frequent=9,
                 trainable_params=1000, trainable_ratio=0.05,
                 total_params=20000, epochs=10, wall_s=120.0)]
    result['transfer'] = dict(rows=rows)
    text = demo_mf2.format_table(result)
    assert 'MF² -> DFN' in text and '5.0% of 20,000' in text
