# Copyright (c) mmfer4d contributors. All rights reserved.
"""The micro-expression demo (``make demo-mer``).

Cross-validates the tiny SMILE-VLM micro-expression config on
SyntheticMER4D subject-independently (the config's protocol: 5 folds,
8 test subjects each; ``num_folds='loso'`` gives leave-one-subject-out)
with :func:`~mmfer4d.apis.run_kfold`, and prints UF1 and UAR computed once
on the test predictions of all folds pooled, as the MER literature reports
them (MEGC 2019 composite protocol; See et al., FG 2019), beside the mean
and spread of the per-fold values.

Example::

    python -m mmfer4d.apis.demo_mer --work-dir work_dirs/demo/smile-vlm-mer
    python -m mmfer4d.apis.demo_mer --loso        # 40 trainings: hours

Running it again reuses finished folds (``--reuse``) or retrains them.
"""
import argparse
import json
import os
import os.path as osp
import shutil
import time
from typing import Callable, Optional

__all__ = ['DEFAULT_MER_CONFIG', 'make_demo_cfg', 'run_demo_mer',
           'format_mer_summary', 'main']

_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: The config ``make demo-mer`` cross-validates.
DEFAULT_MER_CONFIG = osp.join(
    _ROOT, 'configs', 'smile_vlm',
    'smile-vlm_resnet18-w16_scratch_1xb16-20e_synthetic-mer4d-3view-'
    'normal-96px-3f.py')
#: Written into the work dir beside ``summary.json``.
WALL_TIME_FILE = 'wall_time.json'


def make_demo_cfg(config: str, work_dir: str, resume: bool,
                  role: str = 'main', epochs: Optional[int] = None):
    """The config of one fold of the demo (``make_cfg`` of
    :func:`~mmfer4d.apis.run_kfold`).

    As :func:`~mmfer4d.apis.kfold_runner.default_make_cfg`, and: no
    validation during training (the held-out fold is the test set and the
    final model is reported, no checkpoint picked on it), no pinned memory
    (CPU), and ``epochs`` (when given) replacing the schedule's length with
    the same warm-up + cosine shape.
    """
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    cfg.work_dir = work_dir
    cfg.resume = bool(resume)
    cfg.load_from = None
    cfg.val_cfg = None
    cfg.val_dataloader = None
    cfg.val_evaluator = None
    for field in ('train_dataloader', 'test_dataloader'):
        loader = cfg.get(field)
        loader.setdefault('pin_memory', False)
        if loader.get('num_workers', 0) == 0:
            loader['persistent_workers'] = False
    if epochs is not None:
        cfg.train_cfg.max_epochs = int(epochs)
        cfg.train_cfg.pop('val_interval', None)
        warm = 1 if epochs > 1 else 0
        cfg.param_scheduler = ([
            dict(type='LinearLR', start_factor=1e-2, by_epoch=True,
                 begin=0, end=1, convert_to_iter_based=True)
        ] if warm else []) + [
            dict(type='CosineAnnealingLR', T_max=max(epochs - warm, 1),
                 eta_min=1e-5, by_epoch=True, begin=warm, end=epochs,
                 convert_to_iter_based=True)
        ]
        cfg.default_hooks.checkpoint.interval = int(epochs)
    return cfg


def format_mer_summary(summary: dict, wall_s: Optional[float] = None) -> str:
    """UF1 / UAR / accuracy pooled over folds (and per-fold mean +- std).

    Args:
        summary (dict): What :func:`~mmfer4d.apis.run_kfold` returned.
        wall_s (float, optional): Wall time of the whole run, seconds.

    Returns:
        str: A few lines of text.

    Raises:
        KeyError: If the summary holds no pooled ``mer/UF1`` (the config's
            test evaluator has no ``MERMetric``).
    """
    pooled = summary['pooled']
    agg = summary['aggregate']
    protocol = summary['protocol']
    lines = [f'SyntheticMER4D, {protocol["subjects"]} subjects, folds '
             f'{protocol["folds"]!r} (subject-independent), seeds '
             f'{sorted(pooled)}']
    for seed, metrics in sorted(pooled.items()):
        lines.append(
            f'pooled over folds (seed {seed}): UF1 '
            f'{metrics["mer/UF1"] / 100:.4f}  UAR '
            f'{metrics["mer/UAR"] / 100:.4f}  accuracy '
            f'{metrics["mer/accuracy"]:.2f} %')
    per_fold = [f'{k.split("/", 1)[1]} {v["mean"] / 100:.4f} +- '
                f'{v["std"] / 100:.4f}'
                for k, v in agg.items() if k in ('mer/UF1', 'mer/UAR')]
    if per_fold:
        lines.append('per-fold mean +- std: ' + ', '.join(per_fold))
    classes = [k[len('mer/recall_'):] for k in next(iter(
        pooled.values())) if k.startswith('mer/recall_')]
    if classes:
        first = next(iter(pooled.values()))
        lines.append('pooled recall per class (%): ' + ', '.join(
            f'{c} {first["mer/recall_" + c]:.1f}' for c in classes))
    if wall_s is not None:
        lines.append(f'wall time: {int(wall_s // 60)} min '
                     f'{int(wall_s % 60)} s')
    return '\n'.join(lines)


def run_demo_mer(work_dir: str,
                 config: str = DEFAULT_MER_CONFIG,
                 num_folds=None,
                 seeds=None,
                 folds=None,
                 epochs: Optional[int] = None,
                 reuse: bool = False,
                 log: Callable[[str], None] = print) -> dict:
    """Cross-validate ``config`` and print the pooled UF1 / UAR.

    Args:
        work_dir (str): Root of the folds' work dirs.
        config (str): Defaults to :data:`DEFAULT_MER_CONFIG`.
        num_folds (int | str, optional): ``'loso'`` or k; defaults to the
            config's own (5).
        seeds (Sequence[int], optional): Defaults to the config's seed.
        folds (Sequence[int], optional): Only these folds (a quick look;
            the pooled UF1 / UAR then cover them only). Defaults to all.
        epochs (int, optional): Training epochs per fold; defaults to the
            config's.
        reuse (bool): Keep folds finished in ``work_dir``; else they are
            removed and trained again. Defaults to False.
        log (Callable): Where lines go. Defaults to ``print``.

    Returns:
        dict: The :func:`~mmfer4d.apis.run_kfold` summary plus ``wall_s``.
    """
    from .kfold_runner import run_kfold
    if not reuse and osp.isdir(work_dir):
        shutil.rmtree(work_dir)
    os.makedirs(work_dir, exist_ok=True)
    start = time.monotonic()

    def make_cfg(path, fold_dir, resume, role='main'):
        return make_demo_cfg(path, fold_dir, resume, role, epochs=epochs)

    summary = run_kfold(config, work_dir, make_cfg=make_cfg,
                        num_folds=num_folds, seeds=seeds, folds=folds,
                        label='smile-vlm-mer', log=log)
    wall = time.monotonic() - start
    wall_file = osp.join(work_dir, WALL_TIME_FILE)
    if reuse and osp.exists(wall_file):
        with open(wall_file) as f:
            wall = float(json.load(f)['wall_s'])
    else:
        with open(wall_file, 'w') as f:
            json.dump(dict(wall_s=wall), f)
    summary['wall_s'] = wall
    log(format_mer_summary(summary, wall))
    return summary


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(
        description='Micro-expression demo: SMILE-VLM on SyntheticMER4D, '
        'subject-independent folds, UF1/UAR pooled over folds')
    parser.add_argument('--config', default=DEFAULT_MER_CONFIG)
    parser.add_argument('--work-dir', default='work_dirs/demo/smile-vlm-mer')
    parser.add_argument('--loso', action='store_true',
                        help='leave-one-subject-out instead of the '
                        "config's folds")
    parser.add_argument('--num-folds', type=int, default=None)
    parser.add_argument('--seeds', type=int, nargs='+', default=None)
    parser.add_argument('--folds', type=int, nargs='+', default=None,
                        help='only these folds (a quick look)')
    parser.add_argument('--epochs', type=int, default=None)
    parser.add_argument('--reuse', action='store_true',
                        help='keep folds finished in the work dir')
    parser.add_argument('--threads', type=int, default=None,
                        help='intra-op threads; defaults to 1 on CPU (the '
                        'data worker renders on the other core)')
    args = parser.parse_args(argv)
    import torch

    import mmfer4d  # noqa: F401  (registers our modules)
    if args.threads is None and not torch.cuda.is_available():
        args.threads = 1
    if args.threads:
        torch.set_num_threads(args.threads)
    num_folds = 'loso' if args.loso else args.num_folds
    return run_demo_mer(args.work_dir, args.config, num_folds=num_folds,
                        seeds=args.seeds, folds=args.folds,
                        epochs=args.epochs,
                        reuse=args.reuse)


if __name__ == '__main__':
    main()
