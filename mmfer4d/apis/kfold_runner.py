# Copyright (c) mmfer4d contributors. All rights reserved.
"""One call runs a whole protocol: (pre-train +) train + test per fold.

:func:`run_kfold` is what ``tools/kfold.py`` runs: for every seed and fold
of the protocol (the config's own unless overridden) it pre-trains the
fold when a pre-training config is given
(:mod:`~mmfer4d.apis.kfold_pretrain`), trains and tests the fold
(:func:`~mmfer4d.apis.kfold.run_fold`), and finally aggregates the folds
and pools their predictions (:mod:`~mmfer4d.apis.kfold_results`). Running
it again skips finished folds and pre-trainings and resumes interrupted
ones from their last checkpoint.
"""
import json
import os
import os.path as osp
from typing import Callable, Dict, Optional, Sequence

from .kfold import (FOLD_METRICS_FILE, FOLD_PREDICTIONS_FILE, config_num_folds,
                    describe_protocol, fold_has_checkpoint, fold_is_done,
                    fold_work_dir, iter_dataset_cfgs, run_fold, set_fold,
                    split_subjects)
from .kfold_logging import KFoldProgress
from .kfold_pretrain import (check_subject_independence, checkpoint_keys,
                             pretrain_work_dir, pretrained_checkpoint_key,
                             read_pretrain_record, resolve_pretrain_config,
                             run_pretrain, set_pretrained_checkpoint)
from .kfold_results import (aggregate_folds, format_kfold_markdown,
                            leaderboard_values, pool_predictions)

__all__ = [
    'run_kfold', 'default_make_cfg', 'write_summary', 'KFoldSetupError',
    'SUMMARY_FORMAT'
]

SUMMARY_FORMAT = 'mmfer4d-kfold-results/1'
#: ``make_cfg(config_path, work_dir, resume, role)``: the config of one run;
#: ``role`` is ``'main'`` (the config cross-validated) or ``'pretrain'``.
MakeCfg = Callable[[str, str, bool, str], object]


class KFoldSetupError(ValueError):
    """The protocol cannot be set up (bad folds, a missing pre-training
    config, a probe config without a checkpoint key...)."""


def default_make_cfg(config: str, work_dir: str, resume: bool,
                     role: str = 'main'):
    """``Config.fromfile`` with ``work_dir`` and mmengine's auto-resume."""
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    cfg.work_dir = work_dir
    if resume:
        cfg.resume = True
        cfg.load_from = None
    return cfg


def _config_seed(cfg) -> int:
    for dataset in iter_dataset_cfgs(cfg.train_dataloader['dataset']):
        if dataset.get('seed') is not None:
            return int(dataset['seed'])
    return 0


class _FoldRunner:
    """The state of one :func:`run_kfold` call."""

    def __init__(self, config, make_cfg, work_dir, num_folds,
                 pretrain_config, pretrain_key, log):
        self.config = config
        self.make_cfg = make_cfg
        self.work_dir = work_dir
        self.num_folds = num_folds
        self.pretrain_config = pretrain_config
        self.pretrain_key = pretrain_key
        self.log = log
        self.built = False  # a Runner printed its banner already
        self.progress = None

    def pretrain(self, fold: int, seed: int, fold_dir: str) -> dict:
        pre_dir = pretrain_work_dir(fold_dir)
        record = read_pretrain_record(pre_dir)
        if record is not None:
            self.progress.skipped(fold, seed, 'pre-training done')
            return record
        resume = fold_has_checkpoint(pre_dir)
        self.progress.start(fold, seed, (
            'resuming pre-training' if resume else 'pre-training') +
            f' in {pre_dir}')
        cfg = self.make_cfg(self.pretrain_config, pre_dir, resume,
                            'pretrain')
        set_fold(cfg, fold, self.num_folds, seed)
        record = run_pretrain(cfg, pre_dir, quiet=self.built)
        self.built = True
        self.progress.done()
        return record

    def fold(self, fold: int, seed: int, fold_dir: str,
             record: Optional[dict]) -> None:
        resume = fold_has_checkpoint(fold_dir)
        cfg = self.make_cfg(self.config, fold_dir, resume, 'main')
        set_fold(cfg, fold, self.num_folds, seed,
                 osp.join(fold_dir, FOLD_PREDICTIONS_FILE))
        what = 'training'
        if record is not None:
            check_subject_independence(
                record['subjects'], split_subjects(cfg, 'test_dataloader'),
                f'seed {seed} fold {fold}')
            set_pretrained_checkpoint(cfg, record['checkpoint'],
                                      self.pretrain_key, resume)
            what = f'probing {record["checkpoint"]} by training'
        self.progress.start(fold, seed, (
            'resuming' if resume else what) + f' in {fold_dir}')
        run_fold(cfg, fold_dir, quiet=self.built)
        self.built = True
        self.progress.done()


def run_kfold(config: str,
              work_dir: str,
              make_cfg: MakeCfg = default_make_cfg,
              num_folds=None,
              seeds: Optional[Sequence[int]] = None,
              folds: Optional[Sequence[int]] = None,
              pretrain_config: Optional[str] = None,
              pretrain_key: Optional[str] = None,
              label: Optional[str] = None,
              summary_only: bool = False,
              log: Callable[[str], None] = print) -> dict:
    """Cross-validate a config subject-independently; write the summary.

    Args:
        config (str): The config cross-validated (for a probe protocol the
            probe / fine-tuning config).
        work_dir (str): Root of the folds' work dirs.
        make_cfg (Callable): ``make_cfg(path, work_dir, resume, role)``
            loads the config of one run (``tools/kfold.py`` merges its
            command line there). Defaults to :func:`default_make_cfg`.
        num_folds (int | str, optional): Override of the protocol: k or
            ``'loso'``. Defaults to None: the config's data sets' own
            ``num_folds`` (:func:`~mmfer4d.apis.kfold.config_num_folds`).
        seeds (Sequence[int], optional): Seeds of repeated cross-validation.
            Defaults to the config's data set ``seed`` (else 0).
        folds (Sequence[int], optional): Run only these folds. Defaults to
            all.
        pretrain_config (str, optional): Pre-train every fold with this
            config and probe the fold's own checkpoint. Defaults to the
            ``pretrain_config`` field of ``config``, else no pre-training.
        pretrain_key (str, optional): Config key receiving the pre-trained
            checkpoint. Defaults to the one the probe config uses
            (:func:`~mmfer4d.apis.kfold_pretrain.pretrained_checkpoint_key`).
        label (str, optional): Name of the run. Defaults to the config's.
        summary_only (bool): Only aggregate the folds already done.
        log (Callable): Where progress lines go. Defaults to ``print``.

    Returns:
        dict: The summary written to ``WORK_DIR/summary.json`` (the
        RESULTS.json that ``tools/leaderboard.py`` ranks).

    Raises:
        KFoldSetupError: On folds outside the protocol, data sets stating
            different protocols, a missing pre-training config, or a probe
            config that names no checkpoint.
        PretrainLeakError: If a probe would test subjects its pre-training
            saw.
    """
    try:
        base = make_cfg(config, work_dir, False, 'main')
        stated, where = config_num_folds(base)
        if num_folds is None:
            num_folds = stated
        else:
            where = 'the command line'
        seeds = list(seeds) if seeds is not None else [_config_seed(base)]
        protocol = describe_protocol(base, num_folds, seeds)
        num_folds = protocol['folds']
        folds = list(folds) if folds is not None else list(
            range(protocol['num_fold_runs']))
        bad = [f for f in folds if not 0 <= f < protocol['num_fold_runs']]
        if bad:
            raise ValueError(f'folds {bad} outside [0, '
                             f'{protocol["num_fold_runs"]})')
        pretrain_config = resolve_pretrain_config(base, config,
                                                  pretrain_config)
        if pretrain_config is not None:
            pretrain_key = pretrained_checkpoint_key(base, pretrain_key,
                                                     config)
    except (ValueError, FileNotFoundError) as err:
        raise KFoldSetupError(str(err)) from err
    log(f'[kfold] protocol: {protocol["dataset"]}, '
        f'{protocol["subjects"]} subjects, folds {num_folds!r} '
        f'(from {where}), seeds {seeds}' +
        (f'; each fold pre-trained with {pretrain_config}, its checkpoint '
         f'into {pretrain_key}' if pretrain_config else ''))

    if pretrain_config is None and checkpoint_keys(base):
        log(f'[kfold] warning: {config} loads one fixed checkpoint in every '
            f'fold ({", ".join(checkpoint_keys(base))}); unless it was '
            'trained without any subject of this data set, the folds are '
            'not subject-independent: --pretrain-config pre-trains each '
            'fold on its own training subjects')
    runner = _FoldRunner(config, make_cfg, work_dir, num_folds,
                         pretrain_config, pretrain_key, log)
    pending = [(s, f) for s in seeds for f in folds
               if not fold_is_done(fold_work_dir(work_dir, s, f))]
    todo = 0 if summary_only else len(pending) + (sum(
        read_pretrain_record(pretrain_work_dir(fold_work_dir(
            work_dir, s, f))) is None for s, f in pending)
        if pretrain_config else 0)
    runner.progress = KFoldProgress(protocol['num_fold_runs'], todo, log)

    fold_metrics: Dict[int, Dict[int, dict]] = {}
    pooled, pretrained = {}, {}
    for seed in seeds:
        fold_metrics[seed] = {}
        for fold in folds:
            fold_dir = fold_work_dir(work_dir, seed, fold)
            if fold_is_done(fold_dir):
                runner.progress.skipped(fold, seed)
            elif summary_only:
                continue
            else:
                record = runner.pretrain(fold, seed, fold_dir) \
                    if pretrain_config else None
                runner.fold(fold, seed, fold_dir, record)
            if pretrain_config:
                record = read_pretrain_record(pretrain_work_dir(fold_dir))
                if record is not None:
                    pretrained.setdefault(str(seed), {})[str(fold)] = \
                        record['checkpoint']
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
                base.get('default_scope', None) or 'mmfer4d',
                add_mer=num_folds == 'loso')

    aggregate = aggregate_folds(fold_metrics)
    summary = dict(
        format=SUMMARY_FORMAT,
        label=label or osp.splitext(osp.basename(config))[0],
        config=config,
        pretrain_config=pretrain_config,
        pretrained_checkpoints=pretrained or None,
        protocol=dict(protocol, folds_run=folds),
        aggregate=aggregate,
        pooled={str(k): v for k, v in pooled.items()},
        leaderboard=leaderboard_values(aggregate, pooled),
        folds={
            str(s): {str(f): m
                     for f, m in per.items()}
            for s, per in fold_metrics.items()
        })
    write_summary(summary, work_dir)
    return summary


def write_summary(summary: dict, work_dir: str) -> str:
    """Write ``WORK_DIR/summary.json`` and ``summary.md``; returns the
    Markdown."""
    markdown = format_kfold_markdown(summary)
    os.makedirs(work_dir, exist_ok=True)
    with open(osp.join(work_dir, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    with open(osp.join(work_dir, 'summary.md'), 'w') as f:
        f.write(markdown + '\n')
    return markdown
