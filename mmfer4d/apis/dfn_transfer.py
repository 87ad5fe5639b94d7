# Copyright (c) mmfer4d contributors. All rights reserved.
"""DFN transfer against full fine-tuning, on the embedded synthetic data.

:func:`run_transfer` is the "DFN transfer to a second task" step of the
MF² demo (issue 15): a backbone trained on one task (expression, by
default a briefly trained multi-view CE model, or any SMILE-VLM / MF²
checkpoint passed in) is adapted to AU detection on SyntheticFER3D twice,
with the Decoupled Fine-tuning Network (frozen backbone, side network,
:class:`~mmfer4d.models.DecoupledFineTuner`) and with full fine-tuning
(:class:`~mmfer4d.models.FullFineTuner`), on the same held-out subjects,
data, head and schedule. It returns one row per run (mean AU F1, trainable
parameters, wall time) for the demo's table.
"""
import copy
import json
import os
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MF2_CONFIGS = osp.join(ROOT, 'configs', 'mf2')
#: The AU-detection config pair (DFN, full fine-tuning).
DFN_CONFIG = osp.join(
    MF2_CONFIGS, 'dfn_resnet18-w16_mv-ce-pre_1xb32-10e_'
    'synthetic-fer3d-au-3view-normal-96px.py')
FULL_CONFIG = osp.join(
    MF2_CONFIGS, 'dfn-full-ft_resnet18-w16_mv-ce-pre_1xb32-10e_'
    'synthetic-fer3d-au-3view-normal-96px.py')
#: The source task when no checkpoint is given: expression, cross-entropy.
SOURCE_CONFIG = osp.join(
    ROOT, 'configs', 'multiview_ce', 'mv-ce_resnet18-w16_scratch_1xb32-40e_'
    'synthetic-fer3d-3view-normal-96px.py')
RESULTS_FILE = 'dfn_transfer.json'
#: AUs that occur in fewer test scans than this (percent) are left out of
#: ``mean_f1_frequent`` (the issue's AU target counts AUs in >= 5%).
MIN_OCCURRENCE = 5.0


def set_epochs(cfg, epochs: int) -> None:
    """Shorten or lengthen a config's schedule (1 warm-up epoch, cosine
    over the rest, as the demo configs), in place."""
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = epochs
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=1e-2, by_epoch=True, begin=0,
             end=1, convert_to_iter_based=True),
    ]
    if epochs > 1:
        cfg.param_scheduler.append(
            dict(type='CosineAnnealingLR', T_max=epochs - 1, eta_min=1e-5,
                 by_epoch=True, begin=1, end=epochs,
                 convert_to_iter_based=True))
    cfg.default_hooks.checkpoint.interval = epochs


def _prepare(cfg, epochs: int, seed: int, num_subjects: Optional[int],
             num_workers: Optional[int]):
    from mmfer4d.apis.kfold import set_fold
    set_epochs(cfg, epochs)
    set_fold(cfg, 0, 5, seed)
    for field in ('train_dataloader', 'test_dataloader'):
        loader = cfg[field]
        if num_subjects is not None:
            loader.dataset.num_subjects = num_subjects
        if num_workers is not None:
            loader.num_workers = num_workers
        loader.persistent_workers = loader.num_workers > 0
    # No validation during training: the held-out subjects are the test
    # set and the final model is reported.
    cfg.val_cfg = None
    cfg.val_dataloader = None
    cfg.val_evaluator = None
    cfg.resume = False
    cfg.load_from = None
    return cfg


def _run(cfg, run_dir: str, reuse: bool, quiet: bool) -> Dict:
    from mmfer4d.apis.kfold import FOLD_METRICS_FILE, run_fold
    metrics_file = osp.join(run_dir, FOLD_METRICS_FILE)
    wall_file = osp.join(run_dir, 'wall_time.json')
    if reuse and osp.exists(metrics_file) and osp.exists(wall_file):
        with open(metrics_file) as f:
            metrics = json.load(f)
        with open(wall_file) as f:
            return dict(metrics=metrics, wall_s=json.load(f)['wall_s'])
    start = time.monotonic()
    metrics = run_fold(cfg, run_dir, quiet=quiet)
    wall = time.monotonic() - start
    with open(wall_file, 'w') as f:
        json.dump(dict(wall_s=wall), f)
    return dict(metrics=metrics, wall_s=wall)


def count_parameters(model_cfg: dict) -> Dict[str, int]:
    """Trainable and total parameters of a model config (built on CPU,
    without loading weights)."""
    from mmengine.registry import init_default_scope

    import mmfer4d.models  # noqa: F401
    from mmfer4d.registry import MODELS
    init_default_scope('mmfer4d')
    model = MODELS.build(copy.deepcopy(model_cfg))
    params = list(model.parameters())
    return dict(
        trainable_params=sum(p.numel() for p in params if p.requires_grad),
        total_params=sum(p.numel() for p in params))


def au_summary(metrics: Dict, prefix: str = 'au',
               min_occurrence: float = MIN_OCCURRENCE) -> Dict:
    """Mean AU F1 over all AUs and over those occurring in at least
    ``min_occurrence`` percent of the test samples (from
    :class:`~mmfer4d.evaluation.AUDetectionMetric`'s keys)."""
    f1s, frequent = {}, []
    for key, value in metrics.items():
        if key.startswith(f'{prefix}/f1_'):
            name = key[len(f'{prefix}/f1_'):]
            f1s[name] = value
            occ = metrics.get(f'{prefix}/occurrence_{name}', 0.0)
            if occ >= min_occurrence and np.isfinite(value):
                frequent.append(value)
    return dict(
        mean_f1=metrics.get(f'{prefix}/mean_f1'),
        mean_f1_frequent=float(np.mean(frequent)) if frequent else None,
        num_frequent=len(frequent),
        f1=f1s)


def run_transfer(work_dir: str,
                 backbone_ckpt: Optional[str] = None,
                 source_epochs: int = 8,
                 epochs: int = 10,
                 seed: int = 0,
                 num_subjects: Optional[int] = None,
                 num_workers: Optional[int] = None,
                 configs: Sequence[str] = (DFN_CONFIG, FULL_CONFIG),
                 names: Sequence[str] = ('dfn', 'full-ft'),
                 cfg_options: Optional[Dict] = None,
                 reuse: bool = True,
                 quiet: bool = True) -> Dict:
    """Transfer a pretrained backbone to AU detection with the DFN and with
    full fine-tuning; train, test on the held-out subjects, compare.

    Protocol: SyntheticFER3D, six expressions at intensities 3-4, fold 0
    of 5 subject-independent folds (80 training / 20 test subjects with
    the default 100), 21 AU labels per scan, the same split for the
    source and the target task (no test subject is seen in either).

    Args:
        work_dir (str): Runs go into ``WORK_DIR/{source,dfn,full-ft}``;
            the rows into ``WORK_DIR/dfn_transfer.json``.
        backbone_ckpt (str, optional): Checkpoint whose ``backbone.*``
            keys are the pretrained backbone (SMILE-VLM, MF², multi-view
            CE). Defaults to None: train the multi-view CE config on
            expressions for ``source_epochs`` first ("CE checkpoint
            trained briefly").
        source_epochs (int): Epochs of that source run. Defaults to 8.
        epochs (int): Epochs of each transfer run. Defaults to 10.
        seed (int): Seed of the split and the runs. Defaults to 0.
        num_subjects (int, optional): Fewer synthetic subjects (smoke
            tests). Defaults to None (the configs' 100).
        num_workers (int, optional): Data workers. Defaults to the
            configs' (1).
        configs (Sequence[str]): Target-task configs, by default the DFN
            / full fine-tuning pair in ``configs/mf2/``.
        names (Sequence[str]): Their run names. Defaults to
            ``('dfn', 'full-ft')``.
        cfg_options (dict, optional): Merged into every target config
            (``Config.merge_from_dict`` keys, e.g.
            ``{'model.backbone.stem_channels': 32}`` so the backbone
            matches the checkpoint's, or the data preprocessor's
            ``modalities``). Defaults to None.
        reuse (bool): Keep finished runs found in ``work_dir``. Defaults
            to True.
        quiet (bool): Keep the Runner's set-up listing off the console.
            Defaults to True.

    Returns:
        dict: ``rows`` (one dict per run: ``name``, ``method``,
        ``config``, ``mean_f1`` (%), ``mean_f1_frequent`` (% over AUs in
        >= 5% of the test scans), ``num_frequent``, ``f1`` (per AU),
        ``trainable_params``, ``total_params``, ``trainable_ratio``,
        ``epochs``, ``wall_s``), ``source`` (the backbone checkpoint and,
        when trained here, its run's accuracy) and ``gap`` (DFN minus full
        fine-tuning mean F1 over the frequent AUs, points).

    Raises:
        FileNotFoundError: If ``backbone_ckpt`` does not exist.
        ValueError: If ``configs`` and ``names`` differ in length.
    """
    from mmengine.config import Config

    from mmfer4d.apis.kfold_pretrain import last_checkpoint
    if len(configs) != len(names):
        raise ValueError(f'{len(configs)} configs but {len(names)} names')
    os.makedirs(work_dir, exist_ok=True)
    source = dict(checkpoint=backbone_ckpt)
    if backbone_ckpt is None:
        src_dir = osp.join(work_dir, 'source')
        cfg = _prepare(
            Config.fromfile(SOURCE_CONFIG), source_epochs, seed,
            num_subjects, num_workers)
        out = _run(cfg, src_dir, reuse, quiet)
        backbone_ckpt = last_checkpoint(src_dir)
        source = dict(
            checkpoint=backbone_ckpt, config=osp.relpath(SOURCE_CONFIG, ROOT),
            task='expression (6 classes, cross-entropy)',
            epochs=source_epochs, wall_s=out['wall_s'],
            accuracy=out['metrics'].get('fer/top1',
                                        out['metrics'].get('accuracy/top1')))
    elif not osp.isfile(backbone_ckpt):
        raise FileNotFoundError(
            f'run_transfer: backbone checkpoint {backbone_ckpt} not found')

    rows: List[Dict] = []
    for path, name in zip(configs, names):
        cfg = Config.fromfile(path)
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
        cfg = _prepare(cfg, epochs, seed, num_subjects, num_workers)
        cfg.model.backbone.init_cfg = dict(
            type='Pretrained', checkpoint=backbone_ckpt, prefix='backbone.')
        out = _run(cfg, osp.join(work_dir, name), reuse, quiet)
        counts = count_parameters(
            dict(cfg.model, backbone=dict(cfg.model.backbone, init_cfg=None),
                 data_preprocessor=cfg.get('data_preprocessor')))
        row = dict(
            name=name,
            method='DFN (frozen backbone + side network)'
            if cfg.model.type == 'DecoupledFineTuner' else
            'Full fine-tuning' if cfg.model.type == 'FullFineTuner' else
            cfg.model.type,
            config=osp.relpath(path, ROOT),
            epochs=epochs,
            wall_s=out['wall_s'],
            **counts,
            **au_summary(out['metrics']))
        row['trainable_ratio'] = row['trainable_params'] / max(
            1, row['total_params'])
        rows.append(row)
    result = dict(rows=rows, source=source)
    by_name = {r['name']: r for r in rows}
    if 'dfn' in by_name and 'full-ft' in by_name \
            and by_name['dfn']['mean_f1_frequent'] is not None \
            and by_name['full-ft']['mean_f1_frequent'] is not None:
        result['gap'] = by_name['dfn']['mean_f1_frequent'] - \
            by_name['full-ft']['mean_f1_frequent']
        result['param_ratio'] = by_name['dfn']['trainable_params'] / \
            by_name['full-ft']['trainable_params']
    with open(osp.join(work_dir, RESULTS_FILE), 'w') as f:
        json.dump(result, f, indent=2)
    return result


def format_rows(result: Dict) -> str:
    """A Markdown table of :func:`run_transfer`'s rows."""
    lines = [
        '| Method | Task | Mean AU F1 (%) | Mean F1, AUs >= 5% (%) | '
        'Trainable params | Epochs | Wall time (s) |',
        '| --- | --- | ---: | ---: | ---: | ---: | ---: |'
    ]
    for r in result['rows']:
        f1 = '-' if r['mean_f1'] is None else f"{r['mean_f1']:.2f}"
        ff = '-' if r['mean_f1_frequent'] is None else \
            f"{r['mean_f1_frequent']:.2f} ({r['num_frequent']} AUs)"
        lines.append(
            f"| {r['method']} | AU detection (21 AUs) | {f1} | {ff} | "
            f"{r['trainable_params']:,} | {r['epochs']} | "
            f"{r['wall_s']:.0f} |")
    return '\n'.join(lines)
