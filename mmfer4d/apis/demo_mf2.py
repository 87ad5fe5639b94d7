# Copyright (c) mmfer4d contributors. All rights reserved.
"""``make demo-mf2``: MF² on the embedded synthetic data, end to end.

1. MF² pre-training (:class:`~mmfer4d.models.MF2`, the tiny config in
   ``configs/mf2/``) on SyntheticFER3D, six expressions at intensities
   3-4, fold 0 of 5 (80 training / 20 held-out test subjects).
2. AU detection and emotion recognition on the held-out subjects: F1 of
   every AU, mean F1 over the AUs occurring in at least 5% of the test
   scans (and over all), emotion accuracy.
3. DFN transfer of the MF² backbone to a second task, AU detection on the
   subtle expressions (intensities 1-2, which MF² never saw), with the
   Decoupled Fine-tuning Network against full fine-tuning
   (:func:`mmfer4d.apis.dfn_transfer.run_transfer`), side by side.
4. Pictures in ``docs/images/``: per-AU F1 bars and the AU regions drawn
   on a rendered view.

Run ``python -m mmfer4d.apis.demo_mf2 --work-dir work_dirs/demo``; finished
runs are reused (``--no-reuse`` to train again).
"""
import argparse
import json
import os
import os.path as osp
import time
from typing import Dict, Optional

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MF2_CONFIG = osp.join(
    ROOT, 'configs', 'mf2', 'mf2_resnet18-w16_scratch_1xb32-60e_'
    'synthetic-fer3d-3view-normal-96px.py')
IMAGES = osp.join(ROOT, 'docs', 'images')
RESULTS_FILE = 'mf2_results.json'
#: AUs in fewer test scans than this (percent) are out of the target mean.
MIN_OCCURRENCE = 5.0


def _accuracy(metrics: Dict) -> Optional[float]:
    for key in ('fer/top1', 'accuracy/top1', 'per_class_accuracy/top1'):
        if key in metrics:
            return float(metrics[key])
    for key, value in metrics.items():
        if key.endswith('top1'):
            return float(value)
    return None


def au_table(metrics: Dict, prefix: str = 'au',
             min_occurrence: float = MIN_OCCURRENCE) -> Dict:
    """Per-AU F1 and occurrence, and the mean F1 over the AUs occurring in
    at least ``min_occurrence`` percent of the test scans (NaN F1s left
    out) and over all AUs with a defined F1."""
    rows = []
    for key, value in metrics.items():
        if key.startswith(f'{prefix}/f1_'):
            name = key[len(f'{prefix}/f1_'):]
            occ = float(metrics.get(f'{prefix}/occurrence_{name}', 0.0))
            rows.append(dict(au=name, f1=float(value), occurrence=occ))
    frequent = [r['f1'] for r in rows
                if r['occurrence'] >= min_occurrence and np.isfinite(r['f1'])]
    defined = [r['f1'] for r in rows if np.isfinite(r['f1'])]
    return dict(
        rows=rows,
        mean_f1_frequent=float(np.mean(frequent)) if frequent else None,
        num_frequent=len(frequent),
        mean_f1_all=float(np.mean(defined)) if defined else None)


def pretrain(work_dir: str, epochs: Optional[int] = None,
             num_subjects: Optional[int] = None, reuse: bool = True,
             quiet: bool = True, cfg_options: Optional[Dict] = None) -> Dict:
    """Train and test MF² (step 1 and 2); returns metrics, wall time and
    the checkpoint."""
    from mmengine.config import Config

    from mmfer4d.apis.dfn_transfer import set_epochs
    from mmfer4d.apis.kfold import FOLD_METRICS_FILE, run_fold, set_fold
    from mmfer4d.apis.kfold_pretrain import last_checkpoint
    run_dir = osp.join(work_dir, 'mf2')
    metrics_file = osp.join(run_dir, FOLD_METRICS_FILE)
    wall_file = osp.join(run_dir, 'wall_time.json')
    if reuse and osp.exists(metrics_file) and osp.exists(wall_file):
        with open(metrics_file) as f:
            metrics = json.load(f)
        with open(wall_file) as f:
            wall = json.load(f)
    else:
        cfg = Config.fromfile(MF2_CONFIG)
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
        if epochs is not None:
            set_epochs(cfg, epochs)
        set_fold(cfg, 0, 5, 0)
        for field in ('train_dataloader', 'val_dataloader',
                      'test_dataloader'):
            if num_subjects is not None:
                cfg[field].dataset.num_subjects = num_subjects
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
        start = time.monotonic()
        metrics = run_fold(cfg, run_dir, quiet=quiet)
        wall = dict(wall_s=time.monotonic() - start,
                    epochs=int(cfg.train_cfg.max_epochs))
        with open(wall_file, 'w') as f:
            json.dump(wall, f)
    return dict(metrics=metrics, checkpoint=last_checkpoint(run_dir),
                **wall)


def transfer(work_dir: str, checkpoint: str, epochs: int = 10,
             num_subjects: Optional[int] = None,
             reuse: bool = True) -> Optional[Dict]:
    """Step 3: DFN against full fine-tuning from the MF² backbone, AU
    detection at intensities 1-2; None when the DFN is not installed."""
    try:
        from mmfer4d.apis.dfn_transfer import run_transfer
    except ImportError:
        return None
    options = {
        # The MF² backbone: ResNet-18, 16 base and stem channels.
        'model.backbone.stem_channels': 16,
    }
    for field in ('train_dataloader', 'test_dataloader'):
        options[f'{field}.dataset.intensities'] = (1, 2)
    return run_transfer(osp.join(work_dir, 'mf2_dfn'), checkpoint,
                        epochs=epochs, num_subjects=num_subjects,
                        cfg_options=options, reuse=reuse)


def plot_au_f1(table: Dict, path: str) -> None:
    """Per-AU F1 bars, AUs under the occurrence threshold greyed."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    rows = table['rows']
    fig, ax = plt.subplots(figsize=(9, 3.2), dpi=110)
    x = np.arange(len(rows))
    f1 = [0.0 if not np.isfinite(r['f1']) else r['f1'] for r in rows]
    colours = ['tab:blue' if r['occurrence'] >= MIN_OCCURRENCE else
               'lightgray' for r in rows]
    ax.bar(x, f1, color=colours)
    for i, r in enumerate(rows):
        ax.text(i, f1[i] + 1, f"{r['occurrence']:.0f}%", ha='center',
                fontsize=6, color='dimgray')
    ax.set_xticks(x, [r['au'] for r in rows], rotation=60, fontsize=8)
    ax.set_ylim(0, 110)
    ax.set_ylabel('F1 (%)')
    mean = table['mean_f1_frequent']
    ax.axhline(mean, color='tab:red', lw=1, ls='--')
    ax.set_title(f'MF², held-out subjects: per-AU F1 (grey: AU in < 5% of '
                 f'test scans; numbers: occurrence); mean {mean:.1f}',
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_regions(path: str) -> None:
    """The AU regions of one test scan, drawn on its rendered views."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mmfer4d.models.utils.au_regions import (landmark_region_boxes,
                                                 region_box_layout)
    from mmfer4d.registry import DATASETS
    init_default_scope('mmfer4d')
    cfg = Config.fromfile(MF2_CONFIG)
    ds_cfg = cfg.test_dataloader.dataset
    ds_cfg.update(fold=0, num_folds=5, split='test')
    dataset = DATASETS.build(ds_cfg)
    idx = next(i for i in range(len(dataset))
               if dataset.get_data_info(i)['expression'] == 'happiness')
    out = dataset[idx]
    views = out['inputs']  # (V, C, H, W) uint8
    sample = out['data_samples']
    lm = sample.landmarks_2d
    boxes, weights = landmark_region_boxes(
        lm, sample.landmarks_2d_visible, tuple(views.shape[-2:]))
    layout = region_box_layout()
    colours = dict(brows='tab:orange', eyes='tab:blue', cheeks='tab:green',
                   nose='tab:purple', mouth_corners='tab:red',
                   lips='tab:pink', chin='tab:olive')
    fig, axes = plt.subplots(1, views.shape[0], figsize=(9, 3.4), dpi=110)
    for v, ax in enumerate(np.atleast_1d(axes)):
        ax.imshow(views[v].permute(1, 2, 0).numpy())
        ax.scatter(lm[v, :, 0] - 0.5, lm[v, :, 1] - 0.5, s=2, c='white')
        for k, (region, _) in enumerate(layout):
            x1, y1, x2, y2 = boxes[v, k].tolist()
            ls = '-' if weights[v, k] > 0.5 else ':'
            ax.add_patch(Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1, y2 - y1,
                                   fill=False, lw=1.2, ls=ls,
                                   color=colours[region]))
        ax.set_title(('front', 'left', 'right')[v] if views.shape[0] == 3
                     else f'view {v}', fontsize=8)
        ax.axis('off')
    handles = [Rectangle((0, 0), 1, 1, fill=False, color=c, label=r)
               for r, c in colours.items()]
    fig.legend(handles=handles, loc='lower center', ncol=7, fontsize=7,
               frameon=False)
    fig.suptitle('AU regions from the 68 projected landmarks (dotted: '
                 'mostly occluded in this view)', fontsize=9)
    fig.tight_layout(rect=(0, 0.07, 1, 0.95))
    fig.savefig(path)
    plt.close(fig)


def format_table(result: Dict) -> str:
    """The demo's Markdown table (the columns of ``make demo``'s)."""
    mf2 = result['mf2']
    au = mf2['au']
    lines = [
        '| Method | Supervision | Evaluation | Data | Accuracy (%) | Also | '
        'Epochs | Target (wall time) |',
        '| --- | --- | --- | --- | ---: | --- | ---: | --- |',
    ]
    acc = mf2['accuracy']
    lines.append(
        f"| MF² | AU + emotion labels, generated descriptions | heads | "
        f"SyntheticFER3D, int. 3-4 | "
        f"{'-' if acc is None else f'{acc:.2f}'} | mean AU F1 "
        f"{au['mean_f1_frequent']:.2f} ({au['num_frequent']} AUs in >= 5% "
        f"of test scans; {au['mean_f1_all']:.2f} over all) | "
        f"{mf2['epochs']} | `make demo-mf2` ({mf2['wall_s'] / 60:.0f} min) |")
    dfn = result.get('transfer')
    if dfn is None:
        why = result.get('transfer_error') or 'the DFN module is not ' \
            'installed'
        lines.append(f'| DFN transfer | - | - | - | - | not run: {why} | - '
                     '| - |')
    else:
        for r in dfn['rows']:
            ff = '-' if r['mean_f1_frequent'] is None else \
                f"{r['mean_f1_frequent']:.2f}"
            lines.append(
                f"| MF² -> {r['method']} | AU labels | AU head | "
                f"SyntheticFER3D, int. 1-2 | - | mean AU F1 {ff} "
                f"({r['num_frequent']} AUs in >= 5%); trainable params "
                f"{r['trainable_params']:,} ({100 * r['trainable_ratio']:.1f}"
                f"% of {r['total_params']:,}) | {r['epochs']} | (same, "
                f"{r['wall_s'] / 60:.1f} min) |")
    return '\n'.join(lines)


def run(work_dir: str = 'work_dirs/demo', epochs: Optional[int] = None,
        transfer_epochs: int = 10, num_subjects: Optional[int] = None,
        images: Optional[str] = IMAGES, reuse: bool = True,
        cfg_options: Optional[Dict] = None) -> Dict:
    """All steps; writes ``WORK_DIR/mf2_results.json`` and the pictures
    (``images=None``: none); returns the result dict."""
    os.makedirs(work_dir, exist_ok=True)
    start = time.monotonic()
    pre = pretrain(work_dir, epochs, num_subjects, reuse,
                   cfg_options=cfg_options)
    au = au_table(pre['metrics'])
    result = dict(mf2=dict(
        au=au, accuracy=_accuracy(pre['metrics']), epochs=pre['epochs'],
        wall_s=pre['wall_s'], checkpoint=pre['checkpoint']))
    try:
        result['transfer'] = transfer(work_dir, pre['checkpoint'],
                                      transfer_epochs, num_subjects, reuse)
    except Exception as err:  # report the MF² rows even so
        import traceback
        traceback.print_exc()
        result['transfer'] = None
        result['transfer_error'] = f'{type(err).__name__}: {err}'
    with open(osp.join(work_dir, RESULTS_FILE), 'w') as f:
        json.dump(result, f, indent=2)
    if images:
        os.makedirs(images, exist_ok=True)
        plot_au_f1(au, osp.join(images, 'mf2_au_f1.png'))
        plot_regions(osp.join(images, 'mf2_au_regions.png'))
    result['total_wall_s'] = time.monotonic() - start
    with open(osp.join(work_dir, RESULTS_FILE), 'w') as f:
        json.dump(result, f, indent=2)
    print()
    print(format_table(result))
    print()
    print('Per-AU F1 (%), occurrence in the test scans (%):')
    for r in au['rows']:
        print(f"  {r['au']:>5}: F1 {r['f1']:6.2f}   occurrence "
              f"{r['occurrence']:5.1f}")
    if result['transfer'] is not None and 'gap' in result['transfer']:
        t = result['transfer']
        print(f"DFN - full fine-tuning: {t['gap']:+.2f} points (AUs in >= "
              f"5%), trainable parameters {100 * t['param_ratio']:.1f}%")
    print(f"Total wall time: {result['total_wall_s'] / 60:.1f} min")
    return result


def main(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--epochs', type=int, default=None,
                        help="MF² epochs (default: the config's)")
    parser.add_argument('--transfer-epochs', type=int, default=10)
    parser.add_argument('--num-subjects', type=int, default=None,
                        help='fewer synthetic subjects (smoke runs)')
    parser.add_argument('--no-images', action='store_true')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='overrides of the MF² config, key=value')
    parser.add_argument('--no-reuse', action='store_true')
    parser.add_argument('--threads', type=int, default=None,
                        help='intra-op threads; defaults to 1 on CPU (the '
                        'data worker renders on the other core)')
    args = parser.parse_args(argv)
    import torch
    if args.threads is None and not torch.cuda.is_available():
        args.threads = 1
    if args.threads:
        torch.set_num_threads(args.threads)
    run(args.work_dir, args.epochs, args.transfer_epochs, args.num_subjects,
        None if args.no_images else IMAGES, not args.no_reuse,
        args.cfg_options)


if __name__ == '__main__':
    main()
