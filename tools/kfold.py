# Copyright (c) mmfer4d contributors. All rights reserved.
"""Subject-independent k-fold (or LOSO) cross-validation of a config.

Example::

    python tools/kfold.py CONFIG --num-folds 10 --seeds 0 1 2 \\
        --work-dir work_dirs/bu3dfe-10fold
    python tools/kfold.py CONFIG --loso --work-dir work_dirs/4dme-loso

For every seed and fold, the config is merged with the command line by
``tools/train.py``'s ``merge_args`` (same flags, same Runner), the data sets
get ``fold``/``num_folds``/``seed``/``split``, and the fold is trained and
tested. Running the same command again skips finished folds (they have
``metrics.json``) and resumes an interrupted fold from its last checkpoint.
Per-fold metrics, their mean and standard deviation over folds and seeds,
and the metrics of the predictions pooled over folds (UF1/UAR for MER) go
to ``WORK_DIR/summary.json`` (the RESULTS.json that
``tools/leaderboard.py`` reads) and ``WORK_DIR/summary.md``; the table is
printed.
"""
import argparse
import json
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from train import merge_args  # noqa: E402  (tools/train.py)

from mmfer4d.apis.kfold import (FOLD_METRICS_FILE,  # noqa: E402
                                FOLD_PREDICTIONS_FILE, aggregate_folds,
                                describe_protocol, fold_has_checkpoint,
                                fold_is_done, fold_work_dir,
                                format_kfold_markdown, leaderboard_values,
                                pool_predictions, run_fold, set_fold)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Subject-independent k-fold / LOSO cross-validation')
    parser.add_argument('config', help='path of the config file')
    parser.add_argument('--num-folds', type=int, default=10,
                        help='number of subject-independent folds')
    parser.add_argument('--loso', action='store_true',
                        help='leave-one-subject-out (overrides --num-folds)')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0],
                        help='seeds of repeated cross-validation; each seed '
                        'gives another subject partition and training seed')
    parser.add_argument('--folds', type=int, nargs='+', default=None,
                        help='run only these folds (e.g. to spread folds '
                        'over machines); the summary covers the folds done')
    parser.add_argument('--work-dir', help='root of the folds\' work dirs; '
                        'defaults to ./work_dirs/CONFIG_NAME_kfold')
    parser.add_argument('--label', help='name of the run in the tables')
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision (GPU)')
    parser.add_argument('--no-validate', action='store_true',
                        help='no validation during training')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries (as in train.py)')
    parser.add_argument('--summary-only', action='store_true',
                        help='only aggregate the folds already done')
    return parser.parse_args(argv)


def _train_args(args, fold_dir, resume):
    """The Namespace tools/train.py's merge_args expects."""
    return argparse.Namespace(
        config=args.config,
        work_dir=fold_dir,
        resume='auto' if resume else None,
        amp=args.amp,
        no_validate=args.no_validate,
        auto_scale_lr=False,
        no_pin_memory=False,
        no_persistent_workers=False,
        cfg_options=args.cfg_options,
        launcher='none')


def main(argv=None):
    """Run the cross-validation; returns the summary dict."""
    args = parse_args(argv)
    num_folds = 'loso' if args.loso else args.num_folds
    work_dir = args.work_dir or osp.join(
        './work_dirs',
        osp.splitext(osp.basename(args.config))[0] + '_kfold')
    base = merge_args(
        Config.fromfile(args.config), _train_args(args, work_dir, False))
    protocol = describe_protocol(base, num_folds, args.seeds)
    folds = args.folds if args.folds is not None else list(
        range(protocol['num_fold_runs']))
    bad = [f for f in folds if not 0 <= f < protocol['num_fold_runs']]
    if bad:
        raise SystemExit(f'--folds {bad} outside [0, '
                         f'{protocol["num_fold_runs"]})')

    fold_metrics, pooled = {}, {}
    for seed in args.seeds:
        fold_metrics[seed] = {}
        for fold in folds:
            fold_dir = fold_work_dir(work_dir, seed, fold)
            if fold_is_done(fold_dir):
                print(f'[kfold] seed {seed} fold {fold}: done, skipped')
            elif args.summary_only:
                continue
            else:
                resume = fold_has_checkpoint(fold_dir)
                print(f'[kfold] seed {seed} fold {fold}: '
                      f'{"resuming" if resume else "training"} in {fold_dir}')
                cfg = merge_args(
                    Config.fromfile(args.config),
                    _train_args(args, fold_dir, resume))
                set_fold(cfg, fold, num_folds, seed,
                         osp.join(fold_dir, FOLD_PREDICTIONS_FILE))
                run_fold(cfg, fold_dir)
            with open(osp.join(fold_dir, FOLD_METRICS_FILE)) as f:
                fold_metrics[seed][fold] = json.load(f)
        files = [
            osp.join(fold_work_dir(work_dir, seed, f), FOLD_PREDICTIONS_FILE)
            for f in fold_metrics[seed]
        ]
        files = [p for p in files if osp.isfile(p)]
        if files:
            pooled[seed] = pool_predictions(
                files, base.get('test_evaluator'),
                dict(classes=protocol['class_names'])
                if protocol['class_names'] else None,
                base.get('default_scope', None) or 'mmfer4d')

    aggregate = aggregate_folds(fold_metrics)
    summary = dict(
        format='mmfer4d-kfold-results/1',
        label=args.label or osp.splitext(osp.basename(args.config))[0],
        config=args.config,
        protocol=dict(protocol, folds_run=folds),
        aggregate=aggregate,
        pooled={str(k): v for k, v in pooled.items()},
        leaderboard=leaderboard_values(aggregate, pooled),
        folds={
            str(s): {str(f): m
                     for f, m in per.items()}
            for s, per in fold_metrics.items()
        })
    markdown = format_kfold_markdown(summary)
    os.makedirs(work_dir, exist_ok=True)
    with open(osp.join(work_dir, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    with open(osp.join(work_dir, 'summary.md'), 'w') as f:
        f.write(markdown + '\n')
    print(markdown)
    print(f'[kfold] wrote {osp.join(work_dir, "summary.json")} and '
          f'summary.md')
    return summary


if __name__ == '__main__':
    main()
