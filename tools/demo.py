# Copyright (c) mmfer4d contributors. All rights reserved.
"""The mmfer4d demo: train and test SMILE-VLM on the synthetic data sets.

``make demo`` runs ``python tools/demo.py`` (``--what main``): it renders
the SyntheticFER3D test scans once (``browse_dataset.png``), trains the
tiny SMILE-VLM config with mmengine's Runner, tests it zero-shot and with a
linear probe on the held-out subjects, prints accuracy, per-class accuracy
and the confusion matrix, and writes ``confusion_matrix.png``,
``tsne.png``, ``results.json`` and the Markdown table ``leaderboard.md``.
Other targets (``--what``): ``intensities``, ``ssl``, ``baseline``,
``4d``, ``all``; every run keeps its results in ``WORK_DIR/RUN/`` and the
table lists every run found in the work dir. ``--full``: the real-size
configs with 10-fold cross-validation (GPU).

The runs, the runner and the table live in :mod:`mmfer4d.apis.demo`
(a new target is one module there and a Makefile line).

Examples::

    python tools/demo.py                        # = make demo
    python tools/demo.py --what ssl baseline    # more rows in the table
    python tools/demo.py --what main --full     # GPU: 10 folds, real size
"""
import argparse
import os
import os.path as osp
import time

from mmfer4d.apis.demo import DemoOptions, run_demo, target_names


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train and test SMILE-VLM on the synthetic data sets '
        '(the `make demo` job)')
    parser.add_argument(
        '--what', nargs='+', default=['main'], choices=target_names(),
        help='which runs (see mmfer4d/apis/demo/): main (SMILE-VLM '
        'zero-shot + linear probe), intensities, ssl, baseline, 4d, ..., '
        'all. Defaults to main')
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


def main(argv=None):
    options = DemoOptions(**vars(parse_args(argv)))
    import torch
    if options.threads is None and not torch.cuda.is_available():
        options.threads = 1
    if options.threads:
        torch.set_num_threads(options.threads)
    options.threads = torch.get_num_threads()
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope
    init_default_scope('mmfer4d')
    work_dir = osp.abspath(options.work_dir)
    os.makedirs(work_dir, exist_ok=True)
    # A fresh logger per invocation (mmengine keeps loggers by name).
    logger = f'mmfer4d-demo-{os.getpid()}-{time.monotonic_ns()}'
    MMLogger.get_instance(
        logger, log_file=osp.join(work_dir, 'demo.log'), log_level='INFO')
    return run_demo(options, logger=logger)


if __name__ == '__main__':
    main()
