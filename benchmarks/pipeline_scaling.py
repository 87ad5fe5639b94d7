# Copyright (c) mmfer4d contributors. All rights reserved.
"""How the CPU data pipeline scales: workers, cost per transform, and growth.

Prints, in one run, for the ``make demo`` training pipeline (the config
below: SyntheticFER3D, synthesis, ``NormalizeFace``, mesh augmentation,
mirror, warp, 3 views of normals at 96 px, packing):

1. the time per sample of each transform (ms, this thread's CPU time, mean
   over ``--samples`` samples), and their sum as samples per second on one
   core;
2. samples per second through mmengine's data loader (the config's batch
   size and collate function) with 0, 1 and 2 workers, wall clock, after
   the workers have started;
3. the share of data time in a training iteration, ``data_time / time``
   as mmengine's ``IterTimerHook`` measures them, over ``--epochs`` epochs
   of the demo config itself (its model, loop, checkpoints, one training
   thread, its one data worker; no validation), the first epoch left out,
   with the config's loop (``PrefetchEpochBasedTrainLoop``: next epoch
   started early, batches received in a thread), without its receive
   thread, and with mmengine's ``EpochBasedTrainLoop``; and the data time
   of an epoch's first iteration beside the others';
4. how the render cost grows with triangles (the ICT face decimated by
   keeping every k-th face), views (1, 3, 8) and image size (64, 96, 224
   px): ms per mesh, normals only, median of ``--repeats``.

Usage::

    python benchmarks/pipeline_scaling.py [--samples 200] [--epochs 4]
        [--skip-train] [--config CONFIG]

The issue's targets: at least 200 samples/s per core for this pipeline,
and data time under 5% of iteration time in the demo run on CPU.
"""
import argparse
import statistics
import time

import numpy as np
import torch
from mmengine.config import Config, DictAction

DEMO_CONFIG = ('configs/smile_vlm/smile-vlm_resnet18-w16_scratch_1xb32-40e_'
               'synthetic-fer3d-3view-normal-96px.py')


def build_dataset(cfg):
    from mmfer4d.registry import DATASETS
    return DATASETS.build(cfg.train_dataloader.dataset)


def per_transform_cost(dataset, num_samples, warmup=10):
    """Mean CPU ms per sample of each pipeline transform (one thread).

    The first ``warmup`` samples (kernel compilation or cache load, the face
    model) are left out.
    """
    transforms = dataset.pipeline.transforms
    for idx in range(warmup):  # compiled kernels, the face model, caches
        dataset[len(dataset) - 1 - idx]
    totals = np.zeros(len(transforms))
    for idx in range(num_samples):
        results = dataset.get_data_info(idx % len(dataset))
        for t, transform in enumerate(transforms):
            start = time.thread_time()
            results = transform(results)
            totals[t] += time.thread_time() - start
    return [(type(t).__name__, 1e3 * total / num_samples)
            for t, total in zip(transforms, totals)]


def loader_rate(cfg, num_workers, num_samples):
    """Samples per second through mmengine's loader, after worker start."""
    from mmengine.runner import Runner
    loader_cfg = cfg.train_dataloader.copy()
    loader_cfg['num_workers'] = num_workers
    loader_cfg['persistent_workers'] = num_workers > 0
    loader = Runner.build_dataloader(loader_cfg, seed=0)
    batches = iter(loader)
    count = 0
    for _ in range(max(1, 2 * num_workers)):  # workers started, queue full
        count += len(next(batches)['inputs'])
    start = time.perf_counter()
    seen = 0
    for batch in batches:
        seen += len(batch['inputs'])
        if seen >= num_samples:
            break
    return seen / (time.perf_counter() - start), count


def data_time_share(cfg, epochs, work_dir, loop=None):
    """``data_time / time`` of the demo training run (mmengine's timers).

    Trains ``epochs`` epochs of the config as ``make demo`` does (its loop,
    loader and checkpoints; no validation), with ``loop`` (a dict) updating
    the config's ``train_cfg``, and leaves out the first epoch (worker
    start, kernel compilation). Returns the share over the other epochs,
    the mean iteration time (s), the mean data time of their first
    iterations and the median of the rest (s), and the number of
    iterations.
    """
    from mmengine.hooks import Hook
    from mmengine.runner import Runner

    class RecordTimes(Hook):
        priority = 'LOWEST'

        def __init__(self):
            self.rows = []

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            hub = runner.message_hub
            self.rows.append((runner.epoch, batch_idx,
                              hub.get_scalar('train/data_time').current(),
                              hub.get_scalar('train/time').current()))

    cfg = cfg.copy()
    cfg.work_dir = work_dir
    cfg.train_cfg = dict(cfg.train_cfg, max_epochs=epochs,
                         val_interval=epochs, **(loop or {}))
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    cfg.log_level = 'WARNING'
    runner = Runner.from_cfg(cfg)
    recorder = RecordTimes()
    runner.register_hook(recorder)
    runner.train()
    rows = np.array([r for r in recorder.rows if r[0] > 0])
    first = rows[:, 1] == 0
    return (rows[:, 2].sum() / rows[:, 3].sum(), rows[:, 3].mean(),
            rows[first, 2].mean(), np.median(rows[~first, 2]), len(rows))


def render_growth(repeats):
    """ms per mesh of normals-only renders as triangles, views, size grow."""
    from mmfer4d.rendering import MultiViewRenderer
    from mmfer4d.structures.mesh import Mesh
    from mmfer4d.synthesis import load_face_model
    model = load_face_model()
    vertices = np.asarray(model.vertices, dtype=np.float32)
    faces = np.asarray(model.faces, dtype=np.int64)
    vertices = vertices - vertices[int(np.argmax(vertices[:, 2]))]
    views8 = ('front', 'left', 'right', 'up', 'down', (20, 10, 0),
              (-20, 10, 0), (0, 0, 15))
    rows = []

    def time_one(mesh, views, size):
        renderer = MultiViewRenderer(
            views=views, size=size, modalities=('normal', ), extent_mm=90.0)
        renderer.render(mesh)
        samples = []
        for _ in range(repeats):
            start = time.thread_time()
            renderer.render(mesh)
            samples.append(time.thread_time() - start)
        return 1e3 * statistics.median(samples)

    for keep in (4, 2, 1):
        mesh = Mesh(vertices=vertices, faces=faces[::keep])
        rows.append((f'{mesh.num_faces} triangles, 3 views, 96 px',
                     time_one(mesh, views8[:3], 96)))
    full = Mesh(vertices=vertices, faces=faces)
    for num_views in (1, 8):
        rows.append((f'{full.num_faces} triangles, {num_views} views, 96 px',
                     time_one(full, views8[:num_views], 96)))
    for size in (64, 224):
        rows.append((f'{full.num_faces} triangles, 3 views, {size} px',
                     time_one(full, views8[:3], size)))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default=DEMO_CONFIG)
    parser.add_argument('--samples', type=int, default=200)
    parser.add_argument('--loader-samples', type=int, default=640)
    parser.add_argument('--epochs', type=int, default=4)
    parser.add_argument('--repeats', type=int, default=20)
    parser.add_argument('--skip-train', action='store_true')
    parser.add_argument('--work-dir', default='work_dirs/bench_pipeline')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, as in tools/train.py')
    args = parser.parse_args()

    from mmengine.registry import init_default_scope
    import mmfer4d  # noqa: F401  registers the components
    init_default_scope('mmfer4d')
    torch.set_num_threads(1)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    print(f'config: {args.config}')

    dataset = build_dataset(cfg)
    costs = per_transform_cost(dataset, args.samples)
    print(f'\nper transform (CPU ms per sample, mean of {args.samples}):')
    for name, ms in costs:
        print(f'  {name:24s} {ms:7.2f}')
    total = sum(ms for _, ms in costs)
    print(f'  {"sum":24s} {total:7.2f}  -> {1e3 / total:6.1f} samples/s '
          f'per core (target >= 200: '
          f'{"met" if 1e3 / total >= 200 else "NOT met"})')

    print(f'\ndata loader, batch {cfg.train_dataloader.batch_size}, '
          f'{args.loader_samples} samples after the first batches '
          f'(wall clock; Python, collate and worker transfer included):')
    for workers in (0, 1, 2):
        rate, _ = loader_rate(cfg, workers, args.loader_samples)
        print(f'  {workers} workers: {rate:7.1f} samples/s')

    if not args.skip_train:
        print(f'\ndemo training run, epochs 2-{args.epochs} (the first '
              'left out), one training thread, the config\'s data workers:')
        loops = (
            ('config (receive thread)', None),
            ('prefetch, no thread', dict(receive_in_thread=False)),
            ('mmengine EpochBasedTrainLoop',
             dict(type='EpochBasedTrainLoop')),
        )
        for name, loop in loops:
            if loop is not None and cfg.train_cfg.get('type') != \
                    'PrefetchEpochBasedTrainLoop' and 'type' not in loop:
                continue
            share, iter_time, first, rest, count = data_time_share(
                cfg, args.epochs, args.work_dir, loop)
            print(f'  {name:29s} data_time / time = {100 * share:4.1f}% '
                  f'over {count} iterations ({iter_time:.3f} s per '
                  f'iteration; data time {first:.3f} s at an epoch\'s '
                  f'first (mean), {rest:.4f} s at the others (median); '
                  f'target < 5%: {"met" if share < 0.05 else "NOT met"})')

    print(f'\nrender cost growth (normals, ms per mesh CPU, median of '
          f'{args.repeats}):')
    for name, ms in render_growth(args.repeats):
        print(f'  {name:34s} {ms:7.2f}')


if __name__ == '__main__':
    main()
