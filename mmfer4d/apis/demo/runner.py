# Copyright (c) mmfer4d contributors. All rights reserved.
"""Running the demo: the test-set preview, each run on its folds (or its
finished result, with ``reuse``), the pictures, the table."""
import copy
import json
import os
import os.path as osp
import sys
import time
from dataclasses import dataclass, field
from typing import List, Optional

from mmfer4d.apis.kfold import (FOLD_METRICS_FILE, aggregate_folds,
                                fold_is_done, jsonable, run_fold)
from mmfer4d.apis.kfold_pretrain import last_checkpoint

from .outputs import collect_records, ranked_table, save_results
from .pictures import VIEW_NAMES, draw_browse, draw_pictures
from .registry import ROOT, RUNS, runs_of
from .report import format_leaderboard, format_run
from .run_config import RENDER_TYPES, build_run_cfg, protocol_of

#: Train + test seconds of one fold's run, written into its run directory.
WALL_TIME_FILE = 'wall_time.json'


@dataclass
class DemoOptions:
    """What to run and at which size; the flags of ``tools/demo.py``.

    ``None`` sizes keep the config's. ``num_folds`` defaults to 5 (10 with
    ``full``) and ``folds`` to ``[0]`` (every fold with ``full``).
    """

    what: List[str] = field(default_factory=lambda: ['main'])
    work_dir: str = 'work_dirs/demo'
    full: bool = False
    num_folds: Optional[int] = None
    folds: Optional[List[int]] = None
    seed: int = 0
    threads: Optional[int] = None
    reuse: bool = False
    num_subjects: Optional[int] = None
    epochs: Optional[int] = None
    img_size: Optional[int] = None
    num_workers: Optional[int] = None
    no_pictures: bool = False


def run_dir_of(work_dir: str, name: str, fold: int, nested: bool) -> str:
    """``WORK_DIR/RUN`` (one fold) or ``WORK_DIR/RUN/foldK``."""
    return osp.join(work_dir, name, f'fold{fold}') if nested else osp.join(
        work_dir, name)


def prepare_data(cfg, work_dir: str, pictures: bool = True) -> dict:
    """Build the training and test sets of ``cfg``, synthesise and render
    every test scan once (progress bar) and draw one test subject's six
    expressions as ``browse_dataset.png``.

    Returns:
        dict: ``train``/``test`` sample and subject counts, and
        ``browse_png``.
    """
    from mmengine.dataset import Compose
    from mmengine.logging import print_log
    from mmengine.utils import ProgressBar

    from mmfer4d.registry import DATASETS
    sets = {}
    for split, loader in (('train', 'train_dataloader'),
                          ('test', 'test_dataloader')):
        sets[split] = DATASETS.build(copy.deepcopy(cfg[loader]['dataset']))
        print_log(f'{split} set: {sets[split]!r}', logger='current')
    test = sets['test']
    # The test pipeline up to the renders (packing is for the model).
    steps = []
    for step in cfg.test_dataloader.dataset.pipeline:
        steps.append(step)
        if step['type'] in RENDER_TYPES:
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
    out = {
        split: dict(samples=len(ds),
                    subjects=len({d['subject'] for d in ds.data_list}))
        for split, ds in sets.items()
    }
    if pictures and shown:
        out['browse_png'] = draw_browse(
            [shown[k] for k in sorted(shown)], test.metainfo['classes'],
            osp.join(work_dir, 'browse_dataset.png'))
    return out


def read_finished(run_dir: str) -> tuple:
    """``(metrics, wall_s)`` of a finished run directory (``wall_s`` None
    when it kept no wall time)."""
    with open(osp.join(run_dir, FOLD_METRICS_FILE), encoding='utf-8') as f:
        metrics = json.load(f)
    wall = None
    wall_file = osp.join(run_dir, WALL_TIME_FILE)
    if osp.exists(wall_file):
        with open(wall_file, encoding='utf-8') as f:
            wall = float(json.load(f)['wall_s'])
    return metrics, wall


def read_view_weights(cfg, run_dir: str) -> dict:
    """The view weights of a run's final checkpoint by view name ({} when
    it saved none or its fusion has none before a forward)."""
    from mmfer4d.visualization import view_weights_from_checkpoint
    try:
        weights = view_weights_from_checkpoint(cfg, last_checkpoint(run_dir))
    except (FileNotFoundError, ValueError):
        return {}
    return dict(zip(VIEW_NAMES, weights.tolist()))


def run_one(name: str, options: DemoOptions, work_dir: str, folds,
            num_folds: int) -> dict:
    """Train and test one run on every fold (or read the finished folds
    with ``options.reuse``); returns its record (see
    :mod:`mmfer4d.apis.demo.report`), with ``run_dir`` and
    ``view_weights`` of the last fold."""
    from mmengine.logging import print_log
    spec = RUNS[name]
    record = dict(name=name, method=spec.method,
                  supervision=spec.supervision, evaluation=spec.evaluation,
                  folds={}, wall_s={})
    nested = len(folds) > 1 or options.full
    for fold in folds:
        run_dir = run_dir_of(work_dir, name, fold, nested)
        probe = None
        if spec.probe_of:
            probe = last_checkpoint(
                run_dir_of(work_dir, spec.probe_of, fold, nested))
        cfg, path = build_run_cfg(name, options, fold, num_folds, run_dir,
                                  probe)
        record['config'] = osp.relpath(path, ROOT)
        if options.reuse and fold_is_done(run_dir):
            metrics, wall = read_finished(run_dir)
            if wall is not None:
                record['wall_s'][fold] = wall
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
            # Kept beside the fold's metrics so that reuse reprints it.
            with open(osp.join(run_dir, WALL_TIME_FILE), 'w') as f:
                json.dump(dict(wall_s=record['wall_s'][fold]), f)
        record['folds'][fold] = metrics
        record['run_dir'] = run_dir
        record['epochs'] = int(cfg.train_cfg.max_epochs)
        record['protocol'] = protocol_of(cfg, num_folds, folds)
    record['aggregate'] = aggregate_folds({options.seed: record['folds']})
    record['view_weights'] = read_view_weights(cfg, record['run_dir'])
    return record


def run_demo(options: DemoOptions, logger: str = 'current') -> dict:
    """Run ``options.what``, print each run's summary and the table, and
    write ``results.json``, ``leaderboard.md`` and the PNGs into
    ``options.work_dir``.

    Runs done by other invocations in the same work dir are re-read from
    ``results.json`` before every write, so that targets run one after the
    other (or side by side) end up in one table.

    Returns:
        dict: Every record in the work dir, by run name.
    """
    from mmengine.logging import print_log
    work_dir = osp.abspath(options.work_dir)
    os.makedirs(work_dir, exist_ok=True)
    t_start = time.monotonic()
    num_folds = options.num_folds or (10 if options.full else 5)
    folds = options.folds or (list(range(num_folds)) if options.full else
                              [0])
    names = list(runs_of(options.what))
    if options.full:
        missing = [n for n in names if not RUNS[n].full]
        if missing:
            print_log(f'--full: no real-size config for {missing}; they '
                      'are skipped (run them without --full)',
                      logger=logger)
            names = [n for n in names if n not in missing]
    print_log(f'mmfer4d demo: runs {names}, folds {folds} of {num_folds}, '
              f'{options.threads} training thread(s), work dir {work_dir}',
              logger=logger)
    own, outputs = {}, {}
    preview = [n for n in names if RUNS[n].preview]
    if preview:
        t0 = time.monotonic()
        cfg, _ = build_run_cfg(preview[0], options, folds[0], num_folds,
                               osp.join(work_dir, preview[0]))
        outputs['data'] = prepare_data(cfg, work_dir,
                                       not options.no_pictures)
        outputs['data']['wall_s'] = time.monotonic() - t0

    for name in names:
        record = run_one(name, options, work_dir, folds, num_folds)
        own[name] = jsonable(record)
        records = {**collect_records(work_dir), **own}
        print(format_run(records[name]), flush=True)
        if RUNS[name].pictures and not options.no_pictures:
            outputs.update(draw_pictures(record, work_dir))
        save_results(work_dir, records, outputs, options.what, options.full)

    records = {**collect_records(work_dir), **own}
    table = format_leaderboard(records)
    try:
        ranked = ranked_table(records, work_dir)
    except Exception as err:  # noqa: BLE001 - the table above remains
        print_log(f'leaderboard ranking skipped: {err}', logger=logger)
        ranked = ''
    text = table + ('\n\n' + ranked if ranked else '') + '\n'
    with open(osp.join(work_dir, 'leaderboard.md'), 'w',
              encoding='utf-8') as f:
        f.write(text)
    outputs['leaderboard_md'] = osp.join(work_dir, 'leaderboard.md')
    outputs['wall_s'] = time.monotonic() - t_start
    save_results(work_dir, records, outputs, options.what, options.full)
    print('\n' + text, flush=True)
    print(f'Pictures, logs and results.json are in {work_dir} '
          f'(this invocation: {outputs["wall_s"] / 60:.1f} min).',
          flush=True)
    return records
