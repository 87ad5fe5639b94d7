# Copyright (c) mmfer4d contributors. All rights reserved.
"""Merging the training command line into a config.

``tools/train.py``, ``tools/kfold.py`` and the demo runs
(:mod:`mmfer4d.apis.demo`) prepare their configs the same way; the code
lives here so that no tool imports another.
"""
import os.path as osp

import torch

#: The data-loader fields of an mmengine config.
DATALOADER_FIELDS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def set_dataloader_defaults(cfg, no_pin_memory=False,
                            no_persistent_workers=False):
    """Default ``pin_memory`` and ``persistent_workers`` of the loaders.

    Values written in the config (or given with ``--cfg-options``) win over
    these defaults; the ``--no-*`` flags win over both. ``pin_memory``
    defaults to on only with CUDA, and ``persistent_workers`` only with
    worker processes (torch refuses it with ``num_workers=0``).

    Args:
        cfg (Config): The config, modified in place.
        no_pin_memory (bool): Force ``pin_memory=False``. Defaults to False.
        no_persistent_workers (bool): Force ``persistent_workers=False``.
            Defaults to False.
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


def merge_train_args(cfg, args):
    """Merge the command line of ``tools/train.py`` into the config.

    Args:
        cfg (Config): The loaded config, modified in place.
        args (argparse.Namespace): ``tools/train.py``'s flags (``config``,
            ``work_dir``, ``amp``, ``resume``, ``auto_scale_lr``,
            ``cfg_options``, ``no_validate``, ``no_pin_memory``,
            ``no_persistent_workers``, ``launcher``).

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
        if cfg.optim_wrapper.get('type') == 'AutocastOptimWrapper':
            # --amp asks for mmengine's AMP (float16 and a loss scaler, on
            # GPUs): our bfloat16 wrapper's options do not apply to it.
            cfg.optim_wrapper.pop('enabled', None)
            cfg.optim_wrapper.pop('dtype', None)
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
