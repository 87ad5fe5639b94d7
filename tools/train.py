# Copyright (c) mmfer4d contributors. All rights reserved.
"""Train a model from an mmfer4d (or any mmengine) config.

Example::

    python tools/train.py configs/smile-vlm/CONFIG.py --work-dir work_dirs/x
    python tools/train.py CONFIG --resume            # latest in work_dir
    python tools/train.py CONFIG --resume CKPT.pth   # that checkpoint
    bash tools/dist_train.sh CONFIG 8                # 8 GPUs, torchrun

The flags are mmpretrain's ``tools/train.py`` flags. Everything the model,
data and schedule need comes from the config; this script only merges the
command line into it and hands it to :class:`mmengine.runner.Runner`.
"""
import argparse
import os

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

# mmfer4d's allow-listed checkpoint loaders, for every path and URL prefix,
# also when the config does not import mmfer4d itself; and before any
# config is read, so that `_base_` may name `mmfer4d::...`.
import mmfer4d  # noqa: F401
from mmfer4d.apis.kfold_logging import CONFIG_RECORDS, build_runner
# One merge for every tool that trains (train, kfold, the demo runs).
from mmfer4d.apis.train_cfg import merge_train_args as merge_args
from mmfer4d.apis.train_cfg import set_dataloader_defaults  # noqa: F401
from mmfer4d.utils import init_cpu_distributed


def parse_args(argv=None):
    """Parse the command line.

    Args:
        argv (list[str], optional): Arguments; ``sys.argv[1:]`` when None.

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='path of the config file')
    parser.add_argument(
        '--work-dir',
        help='where logs and checkpoints go; defaults to the config\'s '
        '`work_dir`, else ./work_dirs/CONFIG_NAME')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume training: from the given checkpoint, or, with no '
        'value, from the latest checkpoint in the work dir')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='automatic mixed precision (AmpOptimWrapper; needs a GPU)')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not evaluate on the validation set during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the actual total batch size over '
        'the config\'s `auto_scale_lr.base_batch_size`')
    parser.add_argument(
        '--no-pin-memory',
        action='store_true',
        help='do not pin memory in the data loaders')
    parser.add_argument(
        '--no-persistent-workers',
        action='store_true',
        help='do not keep data-loader workers alive between epochs')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, as key=value pairs merged into the '
        'config last (e.g. train_cfg.max_epochs=5 '
        'train_dataloader.dataset.data_root=data/bu3dfe); lists as '
        'key="[a,b]" or key=a,b, no white space')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher; without CUDA, pytorch and slurm need '
        '--cfg-options env_cfg.dist_cfg.backend=gloo')
    # torch.distributed.launch passes --local-rank (torch>=2.0) or
    # --local_rank; torchrun sets LOCAL_RANK instead.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    parser.add_argument(
        '--verbose',
        action='store_true',
        help='print the whole config and the hook order on the console too '
        '(by default they go to the log file only)')
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main(argv=None):
    """Train as the command line says."""
    args = parse_args(argv)
    cfg = merge_args(Config.fromfile(args.config), args)
    # mmengine's launchers need CUDA; on CPU start gloo ourselves.
    init_cpu_distributed(cfg)
    if args.verbose:
        runner = RUNNERS.build(cfg) if 'runner_type' in cfg else \
            Runner.from_cfg(cfg)
    else:
        runner = build_runner(cfg, quiet=True, records=CONFIG_RECORDS)
        log_file = next((h.baseFilename for h in runner.logger.handlers
                         if hasattr(h, 'baseFilename')), runner.log_dir)
        runner.logger.info(
            f'Config ({len(cfg.pretty_text.splitlines())} lines) and hook '
            f'order: in {log_file} and the config in {runner.work_dir} '
            '(--verbose prints them here)')
    runner.train()


if __name__ == '__main__':
    main()
