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
import os.path as osp

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

# mmfer4d's allow-listed checkpoint loaders, for every path and URL prefix,
# also when the config does not import mmfer4d itself; and before any
# config is read, so that `_base_` may name `mmfer4d::...`.
import mmfer4d  # noqa: F401
from mmfer4d.utils import init_cpu_distributed

DATALOADER_FIELDS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


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
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def set_dataloader_defaults(cfg, no_pin_memory=False,
                            no_persistent_workers=False):
    """Default ``pin_memory`` and ``persistent_workers`` of the loaders.

    Values written in the config (or given with ``--cfg-options``) win over
    these defaults; the ``--no-*`` flags win over both. ``pin_memory``
    defaults to on only with CUDA, and ``persistent_workers`` only with
    worker processes (torch refuses it with ``num_workers=0``).

    Args:
        cfg (Config): The config, modified in place.
        no_pin_memory (bool): Force ``pin_memory=False``.
        no_persistent_workers (bool): Force ``persistent_workers=False``.
    """
    for field in DATALOADER_FIELDS:
        loader = cfg.get(field, None)
        if loader is None:
            continue
        loader.setdefault('pin_memory', torch.cuda.is_available())
        loader.setdefault('persistent_workers',
                          loader.get('num_workers', 0) > 0)
        loader.setdefault('collate_fn', dict(type='default_collate'))
        if no_pin_memory:
            loader.pin_memory = False
        if no_persistent_workers or loader.get('num_workers', 0) == 0:
            loader.persistent_workers = False


def merge_args(cfg, args):
    """Merge the command line into the config.

    Args:
        cfg (Config): The loaded config, modified in place.
        args (argparse.Namespace): From :func:`parse_args`.

    Returns:
        Config: ``cfg``.

    Raises:
        ValueError: If ``--auto-scale-lr`` is given and the config has no
            ``auto_scale_lr.base_batch_size``, or ``--amp`` and no
            ``optim_wrapper``.
    """
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join(
            './work_dirs',
            osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        if cfg.get('optim_wrapper', None) is None:
            raise ValueError(f'{args.config}: --amp needs `optim_wrapper` '
                             'in the config')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')

    if args.resume == 'auto':
        # Runner finds the latest checkpoint in work_dir itself.
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    if args.auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise ValueError(
                f'{args.config}: --auto-scale-lr needs '
                '`auto_scale_lr = dict(base_batch_size=N)` in the config')
        cfg.auto_scale_lr.enable = True

    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    # After --cfg-options, which may still name val_dataloader fields.
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    # After --cfg-options, so that the defaults see the final num_workers.
    set_dataloader_defaults(cfg, args.no_pin_memory,
                            args.no_persistent_workers)
    return cfg


def main(argv=None):
    """Train as the command line says."""
    args = parse_args(argv)
    cfg = merge_args(Config.fromfile(args.config), args)
    # mmengine's launchers need CUDA; on CPU start gloo ourselves.
    init_cpu_distributed(cfg)
    if 'runner_type' in cfg:
        runner = RUNNERS.build(cfg)
    else:
        runner = Runner.from_cfg(cfg)
    runner.train()


if __name__ == '__main__':
    main()
