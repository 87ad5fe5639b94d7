# Copyright (c) mmfer4d contributors. All rights reserved.
"""Subject-independent cross-validation of a config, as published.

Example::

    # the config's own protocol (10-fold for BU-3DFE, LOSO for 4DME)
    python tools/kfold.py CONFIG --seeds 0 1 2 --work-dir work_dirs/bu3dfe
    # override it
    python tools/kfold.py CONFIG --num-folds 5
    python tools/kfold.py CONFIG --loso
    # linear probe / fine-tuning: pre-train every fold, then probe it
    python tools/kfold.py PROBE_CONFIG --pretrain-config PRETRAIN_CONFIG

The protocol is the one the config's data sets state (``num_folds``;
``'loso'`` is leave-one-subject-out) unless ``--num-folds``/``--loso``
overrides it. For every seed and fold, the config is merged with the
command line as ``tools/train.py`` does (same flags, same Runner;
``mmfer4d.apis.train_cfg``), the data sets get
``fold``/``num_folds``/``seed``/``split``, and the fold is trained and
tested. With a pre-training config (the flag, or the probe config's
``pretrain_config`` field) each fold is first pre-trained on its own
training subjects, and its probe starts from that checkpoint (the probe
config's ``load_from`` or model ``init_cfg`` checkpoint is replaced).
Running the same command again skips finished folds and resumes an
interrupted one from its last checkpoint.

Per-fold metrics, their mean and standard deviation over folds and seeds,
and the metrics of the predictions pooled over folds (UF1/UAR as the MER
literature reports them) go to ``WORK_DIR/summary.json`` (the RESULTS.json
that ``tools/leaderboard.py`` ranks) and ``WORK_DIR/summary.md``. The
Runner's environment and config are printed for the first fold only (every
fold's log file keeps them).
"""
import argparse
import os.path as osp

from mmengine.config import Config, DictAction

from mmfer4d.apis.kfold_results import format_kfold_markdown
from mmfer4d.apis.kfold_runner import KFoldSetupError, run_kfold
from mmfer4d.apis.train_cfg import merge_train_args as merge_args


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Subject-independent k-fold / LOSO cross-validation')
    parser.add_argument('config', help='path of the config file')
    parser.add_argument('--num-folds', type=int, default=None,
                        help='subject-independent folds; default: the '
                        'num_folds of the config\'s data sets')
    parser.add_argument('--loso', action='store_true',
                        help='leave-one-subject-out (overrides the config '
                        'and --num-folds)')
    parser.add_argument('--seeds', type=int, nargs='+', default=None,
                        help='seeds of repeated cross-validation; each seed '
                        'gives another subject partition and training seed '
                        '(default: the data set\'s seed)')
    parser.add_argument('--folds', type=int, nargs='+', default=None,
                        help='run only these folds (e.g. to spread folds '
                        'over machines); the summary covers the folds done')
    parser.add_argument('--work-dir', help='root of the folds\' work dirs; '
                        'defaults to ./work_dirs/CONFIG_NAME_kfold')
    parser.add_argument('--label', help='name of the run in the tables')
    parser.add_argument('--pretrain-config',
                        help='pre-train each fold with this config and '
                        'probe / fine-tune that fold\'s checkpoint '
                        '(default: the config\'s pretrain_config field)')
    parser.add_argument('--pretrain-key',
                        help='config key that receives the pre-trained '
                        'checkpoint (default: the config\'s load_from or '
                        'model.init_cfg.checkpoint)')
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision (GPU)')
    parser.add_argument('--no-validate', action='store_true',
                        help='no validation during training')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override entries of CONFIG (as in train.py)')
    parser.add_argument('--pretrain-cfg-options', nargs='+',
                        action=DictAction,
                        help='override entries of the pre-training config')
    parser.add_argument('--summary-only', action='store_true',
                        help='only aggregate the folds already done')
    return parser.parse_args(argv)


def _make_cfg(args):
    """``make_cfg`` for :func:`mmfer4d.apis.run_kfold`: the merge of
    ``tools/train.py`` with this command line."""

    def make_cfg(config, work_dir, resume, role):
        options = args.pretrain_cfg_options if role == 'pretrain' \
            else args.cfg_options
        train_args = argparse.Namespace(
            config=config,
            work_dir=work_dir,
            resume='auto' if resume else None,
            amp=args.amp,
            no_validate=args.no_validate,
            auto_scale_lr=False,
            no_pin_memory=False,
            no_persistent_workers=False,
            cfg_options=options,
            launcher='none')
        return merge_args(Config.fromfile(config), train_args)

    return make_cfg


def main(argv=None):
    """Run the cross-validation; returns the summary dict."""
    args = parse_args(argv)
    work_dir = args.work_dir or osp.join(
        './work_dirs',
        osp.splitext(osp.basename(args.config))[0] + '_kfold')
    try:
        summary = run_kfold(
            args.config,
            work_dir,
            make_cfg=_make_cfg(args),
            num_folds='loso' if args.loso else args.num_folds,
            seeds=args.seeds,
            folds=args.folds,
            pretrain_config=args.pretrain_config,
            pretrain_key=args.pretrain_key,
            label=args.label,
            summary_only=args.summary_only)
    except KFoldSetupError as err:
        raise SystemExit(f'kfold: {err}') from None
    print(format_kfold_markdown(summary))
    print(f'[kfold] wrote {osp.join(work_dir, "summary.json")} and '
          f'summary.md')
    return summary


if __name__ == '__main__':
    main()
