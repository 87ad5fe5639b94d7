# Copyright (c) mmfer4d contributors. All rights reserved.
"""Write PNG grids of what the model sees: the rendered views of samples.

One PNG per sample: one column per view, titled with its name and camera
angles; one row per modality (per shown frame for sequences), labelled
(depth, shading and mask in grey, normals and rgb in colour); the title
names the sample, its class, subject and intensity. The pipeline runs up
to and including ``RenderMultiView``; packing and later steps are skipped.

mmpretrain's ``browse_dataset.py`` draws one ``(3, H, W)`` image per
sample and cannot show ``(V, C, H, W)`` renders; this tool replaces it.

Usage::

    python tools/visualization/browse_dataset.py CONFIG \
        [--output-dir DIR] [--num N] [--phase train|test] \
        [--max-frames 4] [--cfg-options key=value ...]
"""
import argparse
import os
import os.path as osp

import numpy as np
from mmengine.config import Config, DictAction
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope

from mmfer4d.visualization import (draw_multiview_grid, save_figure,
                                   view_labels)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file')
    parser.add_argument('--output-dir', default='work_dirs/browse_dataset')
    parser.add_argument('--num', type=int, default=4, help='samples to draw')
    parser.add_argument('--phase', default='train', choices=['train', 'test'])
    parser.add_argument('--max-frames', type=int, default=4,
                        help='frames shown per sequence, evenly spaced')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def render_pipeline(pipeline_cfg):
    """The pipeline up to and including ``RenderMultiView``."""
    steps = []
    for step in pipeline_cfg:
        steps.append(step)
        if step['type'] in ('RenderMultiView', 'mmfer4d.RenderMultiView'):
            return Compose(steps)
    raise ValueError('the pipeline has no RenderMultiView step')


def stack_views(results):
    """``(V, C, H, W)`` (scan) or ``(T, V, C, H, W)`` (sequence) uint8."""
    imgs = results['img']
    if isinstance(imgs[0], list):
        return np.stack([np.stack(v) for v in imgs]).transpose(0, 1, 4, 2, 3)
    return np.stack(imgs).transpose(0, 3, 1, 2)


def sample_title(idx, results, classes=None):
    """``#3  happiness (label 3)  subject F0001  intensity 4  8 frames``."""
    label = results.get('gt_label')
    name = results.get('expression')
    if name is None and classes is not None and label is not None:
        name = classes[int(label)]
    parts = [f'#{idx}']
    if name is not None or label is not None:
        parts.append(f'{name if name is not None else "class"}'
                     + ('' if label is None else f' (label {int(label)})'))
    for key in ('subject', 'intensity'):
        if results.get(key) is not None:
            parts.append(f'{key} {results[key]}')
    if isinstance(results['img'][0], list):
        parts.append(f'{len(results["img"])} frames')
    return '  '.join(parts)


def draw_sample(idx, results, classes=None, max_frames=4):
    """The labelled figure of one rendered sample."""
    return draw_multiview_grid(
        stack_views(results),
        modalities=results['modalities'],
        view_names=view_labels(results['view_angles']),
        title=sample_title(idx, results, classes),
        max_frames=max_frames)


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmfer4d'))
    from mmfer4d.registry import DATASETS
    loader = cfg.get(f'{"train" if args.phase == "train" else "test"}'
                     '_dataloader')
    if loader is None:
        raise ValueError(f'{args.config}: no {args.phase}_dataloader')
    ds_cfg = loader['dataset'].copy()
    pipeline = render_pipeline(ds_cfg.pop('pipeline'))
    ds_cfg['pipeline'] = []
    dataset = DATASETS.build(ds_cfg)
    classes = dataset.metainfo.get('classes')
    os.makedirs(args.output_dir, exist_ok=True)
    paths = []
    for idx in range(min(args.num, len(dataset))):
        results = pipeline(dataset.get_data_info(idx))
        name = f'{idx:04d}_{results.get("subject", "")}_' \
               f'{results.get("expression", results.get("gt_label"))}.png'
        path = osp.join(args.output_dir, name)
        save_figure(draw_sample(idx, results, classes, args.max_frames),
                    path)
        paths.append(path)
        print(path)
    return paths


if __name__ == '__main__':
    main()
