# Copyright (c) mmfer4d contributors. All rights reserved.
"""Test (and evaluate) a checkpoint with an mmfer4d (or any mmengine) config.

Example::

    python tools/test.py CONFIG CKPT.pth
    python tools/test.py CONFIG CKPT.pth --out preds.pkl   # predictions
    python tools/test.py CONFIG CKPT.pth --out m.json --out-item metrics
    python tools/test.py CONFIG CKPT.pth --show-dir vis    # pictures
    bash tools/dist_test.sh CONFIG CKPT.pth 8              # 8 GPUs

The flags are mmpretrain's ``tools/test.py`` flags. The model, test data and
metrics come from the config; this script only merges the command line into
it and hands it to :class:`mmengine.runner.Runner`.

``--show-dir``/``--show`` switch on ``default_hooks.visualization``.
mmpretrain's ``VisualizationHook`` (the default of the zoo) draws one
``(C, H, W)`` image per sample and cannot draw the multi-view inputs of
mmfer4d, ``(V, C, H, W)`` or ``(T, V, C, H, W)``; it is replaced by (and a
config without a visualization hook gets) mmfer4d's
``MultiViewVisualizationHook``, which draws every view and modality and
writes ``confusion_matrix.png`` into the show dir. Any other hook the
config names is kept.
"""
import argparse
import os
import os.path as osp
from copy import deepcopy

import mmengine
import torch
from mmengine.config import Config, ConfigDict, DictAction
from mmengine.evaluator import DumpResults
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

# mmfer4d's allow-listed checkpoint loaders, for every path and URL prefix,
# also when the config does not import mmfer4d itself; and before any
# config is read, so that `_base_` may name `mmfer4d::...`.
import mmfer4d  # noqa: F401
from mmfer4d.utils import init_cpu_distributed


def parse_args(argv=None):
    """Parse the command line.

    Args:
        argv (list[str], optional): Arguments; ``sys.argv[1:]`` when None.

    Returns:
        argparse.Namespace: The parsed arguments.

    Raises:
        SystemExit: If ``--out-item`` is given without ``--out``, or
            ``--tta`` with ``--show``/``--show-dir``.
    """
    parser = argparse.ArgumentParser(
        description='Test (and evaluate) a checkpoint')
    parser.add_argument('config', help='path of the config file')
    parser.add_argument('checkpoint', help='path of the checkpoint')
    parser.add_argument(
        '--work-dir',
        help='where the log and metrics go; defaults to the config\'s '
        '`work_dir`, else ./work_dirs/CONFIG_NAME')
    parser.add_argument(
        '--out', help='file to dump the predictions (or the metrics) to')
    parser.add_argument(
        '--out-item',
        choices=['metrics', 'pred'],
        help='what --out holds; defaults to the predictions')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, as key=value pairs merged into the '
        'config last (e.g. test_dataloader.dataset.data_root=data/bu3dfe); '
        'lists as key="[a,b]" or key=a,b, no white space')
    parser.add_argument(
        '--amp', action='store_true', help='test in mixed precision')
    parser.add_argument(
        '--show-dir', help='directory to save the visualised predictions to')
    parser.add_argument(
        '--show',
        action='store_true',
        help='display the visualised predictions in a window')
    parser.add_argument(
        '--interval',
        type=int,
        default=1,
        help='visualise every N-th sample')
    parser.add_argument(
        '--wait-time',
        type=float,
        default=2,
        help='how long --show displays each picture, in seconds')
    parser.add_argument(
        '--no-pin-memory',
        action='store_true',
        help='do not pin memory in the data loader')
    parser.add_argument(
        '--tta',
        action='store_true',
        help='test-time augmentation: the config\'s `tta_model` and '
        '`tta_pipeline`; when the config has none, scores averaged over the '
        'mesh and its mirror image (pipelines with RenderMultiView) or over '
        'the image and its flip (pipelines ending in PackInputs)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher; without CUDA, pytorch and slurm need '
        '--cfg-options env_cfg.dist_cfg.backend=gloo')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if args.out_item is not None and args.out is None:
        parser.error('--out-item needs --out FILE')
    if args.tta and (args.show or args.show_dir is not None):
        # The visualization hook draws one input per sample; TTA batches
        # hold a list of augmented inputs per sample.
        parser.error('--tta cannot be combined with --show/--show-dir')
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


# mmpretrain's single-image hook, as a config may name it.
_ZOO_VISUALIZATION_HOOKS = ('VisualizationHook',
                            'mmpretrain.VisualizationHook')


def enable_visualization(cfg, args):
    """Switch the visualization hook on for ``--show``/``--show-dir``.

    mmpretrain's ``VisualizationHook`` (or no hook) becomes mmfer4d's
    ``MultiViewVisualizationHook``; another hook type is kept.
    """
    cfg.setdefault('default_hooks', ConfigDict())
    hook = cfg.default_hooks.get('visualization', None)
    if hook is None or hook.get('type') in _ZOO_VISUALIZATION_HOOKS:
        hook = ConfigDict(type='mmfer4d.MultiViewVisualizationHook')
        cfg.default_hooks.visualization = hook
    hook.enable = True
    hook.show = args.show
    hook.wait_time = args.wait_time
    hook.out_dir = args.show_dir
    hook.interval = args.interval


def enable_tta(cfg, args):
    """Wrap the model and test pipeline for test-time augmentation.

    Without a ``tta_pipeline`` in the config: a pipeline that renders
    meshes (``RenderMultiView``) is averaged over the mesh and its mirror
    image (:class:`RandomMeshFlip` before rendering, so that the left and
    right views swap consistently; landmarks of a scheme with no known
    left-right map are dropped from the mirrored copy, nothing after the
    flip needs them); a single-image pipeline ending in ``PackInputs`` over
    the image and its horizontal flip, as mmpretrain does.

    Raises:
        ValueError: If the config has no ``tta_pipeline`` and its test
            pipeline neither renders meshes nor ends in ``PackInputs``.
    """
    cfg.setdefault('tta_model', dict(type='mmpretrain.AverageClsScoreTTA'))
    if 'tta_pipeline' not in cfg:
        pipeline = deepcopy(cfg.test_dataloader.dataset.pipeline)
        types = [str(t['type']).split('.')[-1] for t in pipeline]
        if 'RenderMultiView' in types:
            i = types.index('RenderMultiView')
            flips = [
                dict(
                    type='mmfer4d.RandomMeshFlip',
                    prob=p,
                    unknown_landmarks='drop') for p in (0., 1.)
            ]
            cfg.tta_pipeline = pipeline[:i] + [
                dict(
                    type='TestTimeAug',
                    transforms=[flips] + [[t] for t in pipeline[i:]])
            ]
        elif types[-1] == 'PackInputs':
            flip = dict(
                type='TestTimeAug',
                transforms=[[
                    dict(type='RandomFlip', prob=1.),
                    dict(type='RandomFlip', prob=0.)
                ], [pipeline[-1]]])
            cfg.tta_pipeline = pipeline[:-1] + [flip]
        else:
            raise ValueError(
                f'{args.config}: --tta without `tta_pipeline` in the config '
                'needs a test pipeline that renders meshes (RenderMultiView) '
                'or ends in PackInputs, not one of '
                f'{[t["type"] for t in pipeline]}; add `tta_model` and '
                '`tta_pipeline` to the config')
    # The Runner gives the top-level data_preprocessor to the wrapper; the
    # wrapped model needs it too (its input channels follow the renders).
    from mmfer4d.models.utils import model_cfg_with_preprocessor
    cfg.model = ConfigDict(**cfg.tta_model,
                           module=model_cfg_with_preprocessor(cfg))
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline


def merge_args(cfg, args):
    """Merge the command line into the config.

    Args:
        cfg (Config): The loaded config, modified in place.
        args (argparse.Namespace): From :func:`parse_args`.

    Returns:
        Config: ``cfg``.
    """
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join(
            './work_dirs',
            osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint

    if args.amp:
        cfg.setdefault('test_cfg', ConfigDict())
        cfg.test_cfg.fp16 = True
    if args.show or args.show_dir is not None:
        enable_visualization(cfg, args)
    if args.tta:
        enable_tta(cfg, args)

    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)

    loader = cfg.get('test_dataloader', None)
    if loader is not None:
        loader.setdefault('pin_memory', torch.cuda.is_available())
        loader.setdefault('collate_fn', dict(type='default_collate'))
        if args.no_pin_memory:
            loader.pin_memory = False
    return cfg


def main(argv=None):
    """Test as the command line says.

    Returns:
        dict: The metrics.
    """
    args = parse_args(argv)
    cfg = merge_args(Config.fromfile(args.config), args)
    # mmengine's launchers need CUDA; on CPU start gloo ourselves.
    init_cpu_distributed(cfg)
    if 'runner_type' in cfg:
        runner = RUNNERS.build(cfg)
    else:
        runner = Runner.from_cfg(cfg)

    if args.out is not None and args.out_item in (None, 'pred'):
        runner.test_evaluator.metrics.append(
            DumpResults(out_file_path=args.out))
    metrics = runner.test()
    if args.out is not None and args.out_item == 'metrics':
        mmengine.dump(metrics, args.out)
    return metrics


if __name__ == '__main__':
    main()
