# Copyright (c) mmfer4d contributors. All rights reserved.
"""The mmfer4d demo: train and test SMILE-VLM on the synthetic data sets.

``make demo`` runs ``python tools/demo.py`` (``--what main``):

1. prepares SyntheticFER3D (BU-3DFE-style protocol: six expressions,
   intensities 3-4, one subject-independent split) with a progress bar,
   and draws some test scans as the model sees them;
2. trains the tiny SMILE-VLM config (all three losses, ``label`` text
   source) with mmengine's Runner, exactly as ``tools/train.py`` does;
3. tests on the held-out subjects zero-shot (class prompts) and with a
   linear probe of the frozen model, and prints accuracy, per-class
   accuracy and the confusion matrix;
4. writes ``confusion_matrix.png``, ``tsne.png``, ``browse_dataset.png``
   and ``results.json`` into the work dir, and prints a leaderboard-style
   Markdown table of the synthetic benchmark (also ``leaderboard.md``).

Other runs (``--what``): ``intensities`` (all four intensity levels,
accuracy per level), ``ssl`` (self-supervised, ``pseudo`` text source:
zero-shot, clustering and linear probe), ``baseline`` (the same backbone
and views trained with cross-entropy only), ``4d`` (SyntheticFER4D
sequences, SampleFrames + temporal fusion), ``all``. Every run keeps its
results in ``WORK_DIR/RUN/metrics.json``, and the table lists every run
found in the work dir, so separate invocations end up in one table.

``--full`` runs the real-size configs (ResNet-50, D = 512, 112 px, CLIP
ViT-B/32 text tower, 50 epochs) with 10-fold subject-independent cross
validation, for machines with a GPU.

Examples::

    python tools/demo.py                        # = make demo
    python tools/demo.py --what ssl baseline    # more rows in the table
    python tools/demo.py --what main --full     # GPU: 10 folds, real size
"""
import argparse
import copy
import json
import math
import os
import os.path as osp
import pickle
import sys
import time

import numpy as np

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from train import set_dataloader_defaults  # noqa: E402  (tools/train.py)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CLASSES = ('anger', 'disgust', 'fear', 'happiness', 'sadness', 'surprise')


def _cfg(name: str, method: str = 'smile_vlm') -> str:
    return osp.join(ROOT, 'configs', method, name + '.py')


#: The runs, in table order. ``probe_of``: a linear probe of that run's
#: final checkpoint. ``full``: the real-size config (``--full``).
RUNS = {
    'smile-vlm': dict(
        config=_cfg('smile-vlm_resnet18-w16_scratch_1xb32-40e_'
                    'synthetic-fer3d-3view-normal-96px'),
        full=_cfg('smile-vlm_resnet50_scratch_1xb32-50e_'
                  'synthetic-fer3d-3view'),
        method='SMILE-VLM', supervision='weak (label prompts)',
        evaluation='zero-shot'),
    'smile-vlm-linear': dict(
        config=_cfg('smile-vlm-linear_resnet18-w16_smile-vlm-pre_1xb32-10e_'
                    'synthetic-fer3d-3view-normal-96px'),
        full=_cfg('smile-vlm-linear_resnet50_smile-vlm-pre_1xb32-20e_'
                  'synthetic-fer3d-3view'),
        probe_of='smile-vlm',
        method='SMILE-VLM', supervision='weak (label prompts)',
        evaluation='linear probe'),
    'smile-vlm-i1234': dict(
        config=_cfg('smile-vlm_resnet18-w16_scratch_1xb32-30e_'
                    'synthetic-fer3d-i1234-3view-96px'),
        method='SMILE-VLM', supervision='weak (label prompts)',
        evaluation='zero-shot'),
    'smile-vlm-pseudo': dict(
        config=_cfg('smile-vlm-pseudo_resnet18-w16_scratch_1xb32-40e_'
                    'synthetic-fer3d-3view-96px'),
        method='SMILE-VLM', supervision='none (pseudo-labels)',
        evaluation='zero-shot'),
    'smile-vlm-pseudo-linear': dict(
        config=_cfg('smile-vlm-linear_resnet18-w16_smile-vlm-pre_1xb32-10e_'
                    'synthetic-fer3d-3view-96px'),
        probe_of='smile-vlm-pseudo',
        method='SMILE-VLM', supervision='none (pseudo-labels)',
        evaluation='linear probe'),
    'mv-ce': dict(
        config=_cfg('mv-ce_resnet18-w16_scratch_1xb32-40e_'
                    'synthetic-fer3d-3view-normal-96px', 'multiview_ce'),
        method='Multi-view CE baseline', supervision='full (labels)',
        evaluation='classifier'),
    'smile-vlm-4d': dict(
        config=_cfg('smile-vlm_resnet18-w16_scratch_1xb16-40e_'
                    'synthetic-fer4d-3view-normal-96px-3f'),
        method='SMILE-VLM 4D', supervision='weak (label prompts)',
        evaluation='zero-shot'),
}

WHAT = {
    'main': ('smile-vlm', 'smile-vlm-linear'),
    'intensities': ('smile-vlm-i1234', ),
    'ssl': ('smile-vlm-pseudo', 'smile-vlm-pseudo-linear'),
    'baseline': ('mv-ce', ),
    '4d': ('smile-vlm-4d', ),
}
WHAT['all'] = tuple(name for runs in WHAT.values() for name in runs)

RESULTS_FILE = 'results.json'
SYNTHETIC_NOTE = ('Synthetic benchmark (SyntheticFER3D / SyntheticFER4D, '
                  'procedurally generated faces): not comparable with any '
                  'published result on a real data set.')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train and test SMILE-VLM on the synthetic data sets '
        '(the `make demo` job)')
    parser.add_argument(
        '--what', nargs='+', default=['main'], choices=sorted(WHAT),
        help='which runs: main (SMILE-VLM zero-shot + linear probe), '
        'intensities, ssl, baseline, 4d, all. Defaults to main')
    parser.add_argument('--work-dir', default='work_dirs/demo',
                        help='where runs, pictures and results.json go')
    parser.add_argument(
        '--full', action='store_true',
        help='real-size configs and 10-fold cross-validation (GPU)')
    parser.add_argument('--num-folds', type=int, default=None,
                        help='subject-independent folds of the split; '
                        'defaults to 5 (one fold tested), 10 with --full '
                        '(all folds tested)')
    parser.add_argument('--folds', type=int, nargs='+', default=None,
                        help='folds to test; defaults to 0, all with --full')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the data, the split and training')
    parser.add_argument('--threads', type=int, default=None,
                        help='intra-op threads of the training process; '
                        'defaults to 1 on CPU (the data workers render on '
                        'the other cores; more threads oversubscribe)')
    parser.add_argument('--reuse', action='store_true',
                        help='keep runs that already finished in the work '
                        'dir instead of training them again')
    # Size knobs, for smoke tests and quick looks.
    parser.add_argument('--num-subjects', type=int, default=None,
                        help='subjects generated (default: the config\'s)')
    parser.add_argument('--epochs', type=int, default=None,
                        help='training epochs of every run')
    parser.add_argument('--img-size', type=int, default=None,
                        help='render size in px')
    parser.add_argument('--num-workers', type=int, default=None,
                        help='data-loader workers')
    parser.add_argument('--no-pictures', action='store_true',
                        help='skip the PNGs (t-SNE takes a few seconds)')
    return parser.parse_args(argv)


# ---------------------------------------------------------------------------
# Configs
# ---------------------------------------------------------------------------
def _pipelines(cfg):
    """Every pipeline list of the config (loaders and hooks)."""
    from mmfer4d.apis.kfold import iter_dataset_cfgs
    for field in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(field, None)
        if loader is None:
            continue
        for dataset in iter_dataset_cfgs(loader['dataset']):
            yield dataset.get('pipeline', [])
    for hook in cfg.get('custom_hooks', None) or []:
        if hook.get('pipeline'):
            yield hook['pipeline']


def _cosine_schedule(max_epochs: int, warmup: bool) -> list:
    sched = []
    begin = 0
    if warmup and max_epochs > 1:
        sched.append(
            dict(type='LinearLR', start_factor=1e-2, by_epoch=True,
                 begin=0, end=1, convert_to_iter_based=True))
        begin = 1
    sched.append(
        dict(type='CosineAnnealingLR', T_max=max(max_epochs - begin, 1),
             eta_min=1e-5, by_epoch=True, begin=begin, end=max_epochs,
             convert_to_iter_based=True))
    return sched


def apply_size_options(cfg, args) -> None:
    """Apply ``--num-subjects``, ``--epochs``, ``--img-size`` and
    ``--num-workers`` to a loaded config (in place)."""
    from mmfer4d.apis.kfold import iter_dataset_cfgs
    for field in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(field, None)
        if loader is None:
            continue
        if args.num_workers is not None:
            loader['num_workers'] = args.num_workers
            loader['persistent_workers'] = args.num_workers > 0
        for dataset in iter_dataset_cfgs(loader['dataset']):
            if args.num_subjects is not None:
                dataset['num_subjects'] = args.num_subjects
    if args.img_size is not None:
        for pipeline in _pipelines(cfg):
            for step in pipeline:
                if step['type'] in ('RenderMultiView',
                                    'mmfer4d.RenderMultiView'):
                    step['size'] = args.img_size
    if args.num_workers is not None:
        for hook in cfg.get('custom_hooks', None) or []:
            if 'num_workers' in hook:
                hook['num_workers'] = args.num_workers
    if args.epochs is not None:
        warmup = any(s.get('type') == 'LinearLR'
                     for s in cfg.get('param_scheduler', None) or [])
        cfg.train_cfg.max_epochs = args.epochs
        cfg.train_cfg.val_interval = args.epochs
        cfg.param_scheduler = _cosine_schedule(args.epochs, warmup)
        cfg.default_hooks.checkpoint.interval = args.epochs


def build_run_cfg(name: str, args, fold: int, num_folds: int, run_dir: str,
                  probe_checkpoint: str = None):
    """The config of one run and fold, ready for the Runner."""
    from mmengine.config import Config

    from mmfer4d.apis.kfold import FOLD_PREDICTIONS_FILE, set_fold
    spec = RUNS[name]
    path = spec['full'] if args.full else spec['config']
    cfg = Config.fromfile(path)
    apply_size_options(cfg, args)
    set_fold(cfg, fold, num_folds, args.seed,
             predictions_file=osp.join(run_dir, FOLD_PREDICTIONS_FILE))
    if probe_checkpoint is not None:
        cfg.model.init_cfg = dict(
            type='Pretrained', checkpoint=probe_checkpoint)
    # No validation during training: the held-out subjects are the test
    # set, and we report the final model (no checkpoint picked on it).
    cfg.val_cfg = None
    cfg.val_dataloader = None
    cfg.val_evaluator = None
    cfg.resume = False
    cfg.load_from = None
    set_dataloader_defaults(cfg)
    return cfg, path


def last_checkpoint(run_dir: str) -> str:
    """The checkpoint mmengine saved last in ``run_dir``."""
    from mmfer4d.apis.kfold_pretrain import last_checkpoint as last
    return last(run_dir)


# ---------------------------------------------------------------------------
# Data preparation
# ---------------------------------------------------------------------------
def prepare_data(cfg, work_dir: str, pictures: bool = True) -> dict:
    """Build the training and test sets of ``cfg``, synthesise and render
    every test scan once (progress bar) and draw one test subject's six
    expressions as ``browse_dataset.png``.

    Returns:
        dict: ``train``/``test`` sample counts and subjects, and the PNG.
    """
    from mmengine.dataset import Compose
    from mmengine.logging import print_log
    from mmengine.utils import ProgressBar

    from mmfer4d.registry import DATASETS
    sets = {}
    for split, field in (('train', 'train_dataloader'),
                         ('test', 'test_dataloader')):
        ds_cfg = copy.deepcopy(cfg[field]['dataset'])
        sets[split] = DATASETS.build(ds_cfg)
        print_log(f'{split} set: {sets[split]!r}', logger='current')
    test = sets['test']
    # The test pipeline up to the renders (packing is for the model).
    steps = []
    for step in cfg.test_dataloader.dataset.pipeline:
        steps.append(step)
        if step['type'] in ('RenderMultiView', 'mmfer4d.RenderMultiView'):
            break
    render = Compose(steps)
    print_log(f'Synthesising and rendering the {len(test)} test scans once '
              '(training scans are made on the fly, with augmentation)',
              logger='current')
    first_subject = test.get_data_info(0)['subject'] if len(test) else None
    shown = {}
    bar = ProgressBar(len(test))
    for idx in range(len(test)):
        results = render(test.get_data_info(idx))
        if results['subject'] == first_subject and results[
                'gt_label'] not in shown and results.get('intensity', 4) >= 4:
            shown[results['gt_label']] = results
        bar.update()
    sys.stdout.write('\n')
    out = dict(
        train=dict(samples=len(sets['train']),
                   subjects=len({d['subject']
                                 for d in sets['train'].data_list})),
        test=dict(samples=len(test),
                  subjects=len({d['subject'] for d in test.data_list})))
    if pictures and shown:
        out['browse_png'] = draw_browse(
            [shown[k] for k in sorted(shown)], test.metainfo['classes'],
            osp.join(work_dir, 'browse_dataset.png'))
    return out


def draw_browse(samples, classes, out_file: str) -> str:
    """One row per sample: its views x modalities, labelled."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from browse_dataset import sample_grid  # tools/visualization
    grids = [sample_grid(r) for r in samples]
    h, w = grids[0].shape[:2]
    fig, axes = plt.subplots(
        len(grids), 1, figsize=(w / h * 1.6 + 0.5, 1.6 * len(grids)),
        squeeze=False)
    views = ('front', 'left', 'right')
    for ax, grid, res in zip(axes[:, 0], grids, samples):
        ax.imshow(grid)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(f'{classes[res["gt_label"]]}\n(level '
                      f'{res.get("intensity", "?")})', fontsize=8)
    mods = ' + '.join(samples[0]['modalities'])
    n_views = len(samples[0]['img']) if not isinstance(
        samples[0]['img'][0], list) else len(samples[0]['img'][0])
    fig.suptitle(f'SyntheticFER3D test subject {samples[0]["subject"]}: '
                 f'{n_views} views ({", ".join(views[:n_views])}) x {mods}, '
                 f'{samples[0]["img_shape"][0]} px', fontsize=9)
    fig.tight_layout()
    os.makedirs(osp.dirname(out_file) or '.', exist_ok=True)
    fig.savefig(out_file, dpi=100)
    plt.close(fig)
    return out_file


sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)),
                            'visualization'))

#: Train + test seconds of one fold's run, written into its run directory.
WALL_TIME_FILE = 'wall_time.json'


# ---------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------
def run_one(name: str, args, work_dir: str, folds, num_folds: int) -> dict:
    """Train and test one run on every fold; returns its record."""
    from mmengine.logging import print_log

    from mmfer4d.apis.kfold import (FOLD_METRICS_FILE, aggregate_folds,
                                    fold_is_done, run_fold)
    spec = RUNS[name]
    record = dict(name=name, method=spec['method'],
                  supervision=spec['supervision'],
                  evaluation=spec['evaluation'], folds={}, wall_s={})
    for fold in folds:
        run_dir = osp.join(work_dir, name) if len(folds) == 1 and \
            not args.full else osp.join(work_dir, name, f'fold{fold}')
        probe = None
        if spec.get('probe_of'):
            src = osp.join(work_dir, spec['probe_of']) if len(
                folds) == 1 and not args.full else osp.join(
                    work_dir, spec['probe_of'], f'fold{fold}')
            probe = last_checkpoint(src)
        cfg, path = build_run_cfg(name, args, fold, num_folds, run_dir,
                                  probe)
        record['config'] = osp.relpath(path, ROOT)
        if args.reuse and fold_is_done(run_dir):
            with open(osp.join(run_dir, FOLD_METRICS_FILE)) as f:
                metrics = json.load(f)
            wall_file = osp.join(run_dir, WALL_TIME_FILE)
            if osp.exists(wall_file):
                with open(wall_file) as f:
                    record['wall_s'][fold] = float(json.load(f)['wall_s'])
            print_log(f'[{name}] fold {fold}: reusing {run_dir}',
                      logger='current')
        else:
            print_log(f'[{name}] fold {fold}/{num_folds}: training '
                      f'{osp.relpath(path, ROOT)} '
                      f'({cfg.train_cfg.max_epochs} epochs) in {run_dir}',
                      logger='current')
            start = time.monotonic()
            metrics = run_fold(cfg, run_dir)
            record['wall_s'][fold] = time.monotonic() - start
            # Kept beside the fold's metrics so that --reuse reprints it.
            with open(osp.join(run_dir, WALL_TIME_FILE), 'w') as f:
                json.dump(dict(wall_s=record['wall_s'][fold]), f)
        record['folds'][fold] = metrics
        record['run_dir'] = run_dir
        record['epochs'] = int(cfg.train_cfg.max_epochs)
        record['protocol'] = protocol_of(cfg, num_folds, folds)
    record['aggregate'] = aggregate_folds({args.seed: record['folds']})
    return record


def protocol_of(cfg, num_folds: int, folds) -> dict:
    """The protocol of a run, in the leaderboard tool's terms."""
    from mmfer4d.apis.kfold import iter_dataset_cfgs
    ds = next(iter_dataset_cfgs(cfg.test_dataloader['dataset']))
    intensities = ds.get('intensities', None)
    if ds['type'] in ('SyntheticFER4D', 'mmfer4d.SyntheticFER4D'):
        intensities = [3, 4]
    elif intensities is None:
        intensities = [1, 2, 3, 4]
    return dict(
        dataset=ds['type'],
        subjects=int(ds.get('num_subjects', 100)),
        folds=int(num_folds),
        folds_tested=list(folds),
        classes=len(ds.get('classes') or CLASSES),
        intensities=sorted(int(i) for i in intensities))


def load_predictions(run_dir: str) -> list:
    from mmfer4d.apis.kfold import FOLD_PREDICTIONS_FILE
    path = osp.join(run_dir, FOLD_PREDICTIONS_FILE)
    if not osp.isfile(path):
        return []
    with open(path, 'rb') as f:
        return pickle.load(f)


# ---------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------
def _mean(record: dict, key: str):
    agg = record.get('aggregate', {}).get(key)
    return None if agg is None else agg['mean']


def _fmt(value, digits=1) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(
            value)):
        return '-'
    return f'{value:.{digits}f}'


def format_confusion(matrix, classes) -> str:
    """The confusion matrix as aligned text, rows = true class."""
    width = max(6, max(len(c) for c in classes) + 1)
    head = ' ' * width + ''.join(f'{c[:7]:>8}' for c in classes)
    lines = ['true \\ predicted', head]
    for name, row in zip(classes, matrix):
        lines.append(f'{name:<{width}}' + ''.join(f'{v:>8d}' for v in row))
    return '\n'.join(lines)


def print_run(record: dict) -> str:
    """The printed summary of one run (last fold's matrix)."""
    prefix = 'fer/'
    fold = sorted(record['folds'])[-1]
    metrics = record['folds'][fold]
    classes = metrics.get(prefix + 'classes') or list(CLASSES)
    lines = [
        '', f'=== {record["method"]}, {record["evaluation"]} '
        f'({record["name"]}; {record["config"]}) ===',
        f'Held-out subjects: {record["protocol"]["dataset"]}, classes '
        f'{record["protocol"]["classes"]}, intensities '
        f'{record["protocol"]["intensities"]}, fold(s) '
        f'{record["protocol"]["folds_tested"]} of '
        f'{record["protocol"]["folds"]}',
        f'Accuracy: {_fmt(_mean(record, prefix + "top1"), 2)} %   '
        f'mean class accuracy: '
        f'{_fmt(_mean(record, prefix + "mean_class_acc"), 2)} %'
    ]
    lines.append('Per-class accuracy (%): ' + ', '.join(
        f'{c} {_fmt(_mean(record, prefix + "acc_" + c))}' for c in classes))
    levels = sorted(
        k for k in record['aggregate'] if k.startswith(prefix +
                                                       'acc_intensity_'))
    if levels:
        lines.append('Accuracy per intensity (%): ' + ', '.join(
            f'{k.rsplit("_", 1)[1]}: {_fmt(_mean(record, k))}'
            for k in levels))
    for key, label in (('cluster/acc', 'clustering accuracy'),
                       ('cluster/nmi', 'NMI')):
        if key in record['aggregate']:
            lines.append(f'{label}: {_fmt(_mean(record, key), 2)} %')
    if metrics.get(prefix + 'confusion_matrix'):
        lines.append(f'Confusion matrix (fold {fold}):')
        lines.append(format_confusion(metrics[prefix + 'confusion_matrix'],
                                      classes))
    if record.get('wall_s'):
        lines.append('Wall time: ' + ', '.join(
            f'fold {k}: {v:.0f} s' for k, v in record['wall_s'].items()))
    text = '\n'.join(lines)
    print(text, flush=True)
    return text


def leaderboard_rows(records) -> list:
    """Rows of the combined table, in :data:`RUNS` order."""
    rows = []
    for name in RUNS:
        rec = records.get(name)
        if rec is None:
            continue
        p = rec['protocol']
        levels = sorted(
            (int(k.rsplit('_', 1)[1]), _mean(rec, k))
            for k in rec['aggregate'] if k.startswith('fer/acc_intensity_'))
        extra = []
        if len(levels) > 2:
            extra.append('per level ' + '/'.join(
                _fmt(v, 0) for _, v in levels) + f' (levels '
                f'{"/".join(str(k) for k, _ in levels)})')
        if 'cluster/acc' in rec['aggregate']:
            extra.append(f'cluster acc {_fmt(_mean(rec, "cluster/acc"))}, '
                         f'NMI {_fmt(_mean(rec, "cluster/nmi"))}')
        std = rec['aggregate'].get('fer/top1', {}).get('std')
        acc = _fmt(_mean(rec, 'fer/top1'), 2)
        if std is not None and len(rec['folds']) > 1:
            acc += f' ± {std:.2f}'
        wall = sum(rec.get('wall_s', {}).values())
        levels_range = '-'.join(
            str(i) for i in (p['intensities'][0], p['intensities'][-1]))
        rows.append(
            dict(name=name, method=rec['method'],
                 supervision=rec['supervision'],
                 evaluation=rec['evaluation'],
                 data=f'{p["dataset"]}, int. {levels_range}',
                 split=f'{p["subjects"]} subj., fold '
                 f'{",".join(str(f) for f in p["folds_tested"])}/'
                 f'{p["folds"]}',
                 accuracy=acc,
                 mean_class=_fmt(_mean(rec, 'fer/mean_class_acc'), 2),
                 extra='; '.join(extra),
                 epochs=rec.get('epochs'),
                 train_min=_fmt(wall / 60.0) if wall else '-'))
    return rows


def format_leaderboard(records, title_suffix: str = '') -> str:
    """The combined Markdown table of every run in the work dir."""
    lines = [
        '### mmfer4d demo: SMILE-VLM on the synthetic benchmark'
        + title_suffix, '', f'> **{SYNTHETIC_NOTE}**', '',
        '| Method | Supervision | Evaluation | Data | Split | Accuracy (%) '
        '| Mean class acc. (%) | Also | Epochs | Train + test (min) |',
        '| --- | --- | --- | --- | --- | ---: | ---: | --- | ---: | ---: |'
    ]
    for r in leaderboard_rows(records):
        lines.append(
            f'| {r["method"]} | {r["supervision"]} | {r["evaluation"]} | '
            f'{r["data"]} | {r["split"]} | {r["accuracy"]} | '
            f'{r["mean_class"]} | {r["extra"]} | {r["epochs"]} | '
            f'{r["train_min"]} |')
    return '\n'.join(lines)


def results_for_leaderboard(record: dict) -> dict:
    """A RESULTS.json object for ``tools/leaderboard.py --benchmark
    synthetic``."""
    from mmfer4d.apis.kfold import leaderboard_values
    p = record['protocol']
    label = f'{record["method"]} ({record["evaluation"]})'
    values = leaderboard_values(record['aggregate'], {})
    if len(record['folds']) < 2:
        # One held-out fold: no spread to report.
        for item in values.values():
            item['std'] = None
    return dict(
        label=label,
        protocol=dict(dataset=p['dataset'], subjects=p['subjects'],
                      folds=p['folds'],
                      classes=p['classes'], intensities=p['intensities'],
                      seeds=[0]),
        leaderboard=values)


def draw_pictures(record: dict, work_dir: str) -> dict:
    """Confusion matrix, t-SNE and view-weight PNGs of a run."""
    from mmfer4d.visualization import (plot_confusion_matrix,
                                       plot_embedding_tsne)
    out = {}
    fold = sorted(record['folds'])[-1]
    metrics = record['folds'][fold]
    classes = metrics.get('fer/classes') or list(CLASSES)
    if metrics.get('fer/confusion_matrix'):
        out['confusion_matrix_png'] = plot_confusion_matrix(
            metrics['fer/confusion_matrix'], classes,
            osp.join(work_dir, 'confusion_matrix.png'),
            title=f'{record["method"]} {record["evaluation"]}, held-out '
            f'subjects (row %)')
    preds = load_predictions(record['run_dir'])
    embs = [p.get('embedding') for p in preds]
    if embs and all(e is not None for e in embs) and len(embs) >= 5:
        emb = np.stack([np.asarray(e, dtype=np.float32) for e in embs])
        labels = [int(np.asarray(p['gt_label']).reshape(-1)[0])
                  for p in preds]
        subjects = [p.get('subject', '?') for p in preds]
        plot_embedding_tsne(
            emb, labels, subjects, osp.join(work_dir, 'tsne.png'),
            classes=classes, perplexity=min(30.0, (len(emb) - 1) / 3.0))
        out['tsne_png'] = osp.join(work_dir, 'tsne.png')
    return out


def view_weights(record: dict) -> dict:
    """The learnt per-view fusion weights of a run's final checkpoint."""
    import torch
    try:
        ckpt = torch.load(last_checkpoint(record['run_dir']),
                          map_location='cpu', weights_only=True)
    except Exception:  # noqa: BLE001 - optional information
        return {}
    state = ckpt.get('state_dict', ckpt)
    logits = state.get('view_fusion.view_logits')
    if logits is None:
        return {}
    weights = torch.softmax(logits.float().reshape(-1), 0).tolist()
    return dict(zip(('front', 'left', 'right'), weights))


def collect_records(work_dir: str) -> dict:
    """The records of every run kept in ``WORK_DIR/results.json``."""
    path = osp.join(work_dir, RESULTS_FILE)
    if not osp.isfile(path):
        return {}
    with open(path, encoding='utf-8') as f:
        try:
            return json.load(f).get('runs', {})
        except json.JSONDecodeError:
            return {}


def main(argv=None):
    args = parse_args(argv)
    import torch
    if args.threads is None and not torch.cuda.is_available():
        args.threads = 1
    if args.threads:
        torch.set_num_threads(args.threads)
    from mmengine.logging import MMLogger, print_log
    from mmengine.registry import init_default_scope

    import mmfer4d  # noqa: F401  (registers our modules)
    from mmfer4d.apis.kfold import jsonable
    from mmfer4d.leaderboards import (format_markdown, load_leaderboard,
                                      rank_results)
    init_default_scope('mmfer4d')
    work_dir = osp.abspath(args.work_dir)
    os.makedirs(work_dir, exist_ok=True)
    # A fresh logger per invocation (mmengine keeps loggers by name).
    logger = f'mmfer4d-demo-{os.getpid()}-{time.monotonic_ns()}'
    MMLogger.get_instance(
        logger, log_file=osp.join(work_dir, 'demo.log'), log_level='INFO')
    t_start = time.monotonic()
    num_folds = args.num_folds or (10 if args.full else 5)
    folds = args.folds or (list(range(num_folds)) if args.full else [0])
    names = [n for n in RUNS if any(n in WHAT[w] for w in args.what)]
    if args.full:
        missing = [n for n in names if not RUNS[n].get('full')]
        if missing:
            print_log(f'--full: no real-size config for {missing}; they '
                      'are skipped (run them without --full)',
                      logger=logger)
            names = [n for n in names if n not in missing]
    print_log(f'mmfer4d demo: runs {names}, folds {folds} of {num_folds}, '
              f'{args.threads or torch.get_num_threads()} training '
              f'thread(s), work dir {work_dir}', logger=logger)

    # Runs of this invocation; other runs are re-read from results.json
    # before every write, so demo targets run side by side keep each
    # other's rows.
    own = {}
    records = collect_records(work_dir)
    outputs = {}
    if 'smile-vlm' in names or 'smile-vlm-i1234' in names:
        first = 'smile-vlm' if 'smile-vlm' in names else 'smile-vlm-i1234'
        t0 = time.monotonic()
        cfg, _ = build_run_cfg(first, args, folds[0], num_folds,
                               osp.join(work_dir, first))
        outputs['data'] = prepare_data(cfg, work_dir,
                                       not args.no_pictures)
        outputs['data']['wall_s'] = time.monotonic() - t0

    for name in names:
        record = run_one(name, args, work_dir, folds, num_folds)
        record['view_weights'] = view_weights(record)
        own[name] = jsonable(record)
        records = {**collect_records(work_dir), **own}
        print_run(records[name])
        if name == 'smile-vlm' and not args.no_pictures:
            outputs.update(draw_pictures(record, work_dir))
        save_results(work_dir, records, outputs, args)

    records = {**collect_records(work_dir), **own}
    table = format_leaderboard(records)
    # Our own rows through the leaderboard tool's ranking (synthetic
    # benchmark, one protocol: the BU-3DFE-style intensities 3-4 rows).
    ranked = ''
    main_rows = [
        records[n] for n in ('smile-vlm', 'smile-vlm-linear',
                             'smile-vlm-pseudo', 'smile-vlm-pseudo-linear',
                             'mv-ce') if n in records
    ]
    if main_rows:
        results = []
        for rec in main_rows:
            res = results_for_leaderboard(rec)
            path = osp.join(work_dir, rec['name'], 'RESULTS.json')
            with open(path, 'w', encoding='utf-8') as f:
                json.dump(res, f, indent=2)
            res.update(path=osp.relpath(path, work_dir),
                       values=res['leaderboard'])
            res['protocol'] = dict(res['protocol'])
            results.append(res)
        try:
            from mmfer4d.leaderboards import load_results
            loaded = [
                load_results(osp.join(work_dir, r['path'])) for r in results
            ]
            for item in loaded:
                item['path'] = osp.relpath(item['path'], work_dir)
            ranked = format_markdown(
                rank_results(load_leaderboard('synthetic'), loaded))
        except Exception as err:  # noqa: BLE001 - the table above remains
            print_log(f'leaderboard ranking skipped: {err}',
                      logger=logger)
    text = table + ('\n\n' + ranked if ranked else '') + '\n'
    with open(osp.join(work_dir, 'leaderboard.md'), 'w',
              encoding='utf-8') as f:
        f.write(text)
    outputs['leaderboard_md'] = osp.join(work_dir, 'leaderboard.md')
    outputs['wall_s'] = time.monotonic() - t_start
    save_results(work_dir, records, outputs, args)
    print('\n' + text, flush=True)
    print(f'Pictures, logs and results.json are in {work_dir} '
          f'(this invocation: {outputs["wall_s"] / 60:.1f} min).',
          flush=True)
    return records


def save_results(work_dir: str, records: dict, outputs: dict, args) -> None:
    """Write ``WORK_DIR/results.json`` (all runs so far)."""
    from mmfer4d.apis.kfold import jsonable
    path = osp.join(work_dir, RESULTS_FILE)
    previous = {}
    if osp.isfile(path):
        with open(path, encoding='utf-8') as f:
            try:
                previous = json.load(f)
            except json.JSONDecodeError:
                previous = {}
    invocations = previous.get('invocations', [])
    data = dict(
        benchmark='synthetic',
        note=SYNTHETIC_NOTE,
        runs=records,
        outputs={**previous.get('outputs', {}), **jsonable(outputs)},
        invocations=invocations + [dict(what=args.what, full=args.full,
                                        **jsonable(outputs))]
        if 'wall_s' in outputs else invocations)
    tmp = path + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        json.dump(jsonable(data), f, indent=2)
    os.replace(tmp, path)


if __name__ == '__main__':
    main()
