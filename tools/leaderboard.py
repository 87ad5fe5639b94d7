# Copyright (c) mmfer4d contributors. All rights reserved.
"""Place our result among the published ones of a benchmark.

Example::

    python tools/leaderboard.py work_dirs/bu4dfe/summary.json \\
        --benchmark bu4dfe --out-png leaderboard.png --label SMILE-VLM
    python tools/leaderboard.py work_dirs/bp4d-au/summary.json \\
        --benchmark bp4d_au
    python tools/leaderboard.py a/summary.json b/summary.json \\
        --benchmark synthetic

RESULTS.json is what ``tools/kfold.py`` writes (``summary.json``): a JSON
object with ``label``, ``protocol`` (``dataset``, ``subjects``, ``folds``,
``intensities``, ``classes``, ``aus``) and ``leaderboard`` (``{metric:
{value, std}}`` in percent); see :func:`mmfer4d.leaderboards.load_results`.
Published results come from ``mmfer4d/leaderboards/BENCHMARK.yml``.

The tool prints a Markdown table ranking our result with the published
results whose protocol is verified (every field stated by the source and
equal to ours), then the unverified ones (fields the source leaves
unstated) apart, and the ones of another protocol. It exits with status 2
and a message when the result is not one the benchmark ranks (another data
set, e.g. a SyntheticFER3D run on bu4dfe; another metric, e.g. an AU F1 on
an accuracy benchmark) or every published result used another protocol.
``--protocol-*`` options state protocol fields that RESULTS.json lacks;
they may not contradict it.
"""
import argparse
import sys

from mmfer4d.leaderboards import (BenchmarkMismatchError,
                                  ProtocolMismatchError, format_markdown,
                                  list_benchmarks, load_leaderboard,
                                  load_results, normalize_protocol,
                                  plot_leaderboard, rank_results)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Rank results among the published ones of a benchmark')
    parser.add_argument('results', nargs='+', help='RESULTS.json file(s)')
    parser.add_argument('--benchmark', required=True,
                        help=f'one of {", ".join(list_benchmarks())}, or a '
                        'YAML file in the same format')
    parser.add_argument('--metric', help='leaderboard metric (accuracy, '
                        'uf1, uar, f1); defaults to the benchmark\'s')
    parser.add_argument('--label', help='name of our result (single '
                        'RESULTS.json only)')
    parser.add_argument('--out-png', help='write a bar chart here')
    parser.add_argument('--out-md', help='also write the table here')
    parser.add_argument('--protocol-dataset',
                        help='data set type, e.g. BU4DFEDataset')
    parser.add_argument('--protocol-subjects', type=int)
    parser.add_argument('--protocol-folds',
                        help='number of folds or "loso"')
    parser.add_argument('--protocol-classes', type=int)
    parser.add_argument('--protocol-intensities', type=int, nargs='+')
    parser.add_argument('--protocol-aus', type=int, nargs='+',
                        help='AU numbers (AU detection)')
    return parser.parse_args(argv)


def _stated_protocol(args) -> dict:
    stated = normalize_protocol(dict(
        dataset=args.protocol_dataset,
        subjects=args.protocol_subjects,
        folds=args.protocol_folds,
        classes=args.protocol_classes,
        intensities=args.protocol_intensities,
        aus=args.protocol_aus))
    if stated['folds'] not in (None, 'loso'):
        stated['folds'] = int(stated['folds'])
    return {k: v for k, v in stated.items() if v is not None}


def main(argv=None) -> int:
    """Print (and save) the table; returns the exit status."""
    args = parse_args(argv)
    if args.label and len(args.results) > 1:
        print('--label applies to a single RESULTS.json', file=sys.stderr)
        return 2
    try:
        board = load_leaderboard(args.benchmark)
        results = [load_results(p, args.label) for p in args.results]
        for res in results:
            for key, value in _stated_protocol(args).items():
                ours = res['protocol'].get(key)
                if ours is not None and ours != value:
                    raise ProtocolMismatchError(
                        f'{res["path"]}: --protocol-{key} {value} '
                        f'contradicts its protocol ({key}={ours!r})')
                res['protocol'][key] = value
        table = rank_results(board, results, args.metric)
    except (BenchmarkMismatchError, ProtocolMismatchError,
            FileNotFoundError, ValueError) as err:
        print(f'leaderboard: {err}', file=sys.stderr)
        return 2
    markdown = format_markdown(table)
    print(markdown)
    if args.out_md:
        with open(args.out_md, 'w', encoding='utf-8') as f:
            f.write(markdown + '\n')
    if args.out_png:
        plot_leaderboard(table, args.out_png)
        print(f'Bar chart written to {args.out_png}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
