# Copyright (c) mmfer4d contributors. All rights reserved.
"""Per-view weights of a model's view fusion module: table and bar PNG.

Example::

    python tools/analysis_tools/view_weights.py CONFIG CKPT \\
        --out-png view_weights.png --num-batches 4

The model's fusion module exposes ``get_view_weights()``. Learnable weights
are read directly; attention weights depend on the input, so the tool runs
``--num-batches`` test batches through the model and averages the weights
of those forwards.
"""
import argparse
import sys

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

from mmfer4d.visualization import (find_view_weight_module,
                                   plot_view_weights, view_weight_table)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?', help='defaults to random '
                        'init (only useful to check the tool)')
    parser.add_argument('--out-png', default='view_weights.png')
    parser.add_argument('--num-batches', type=int, default=4,
                        help='test batches to average input-dependent '
                        'weights over (0: read the weights only)')
    parser.add_argument('--view-names', nargs='+')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def average_view_weights(model, batches=()):
    """Mean of ``get_view_weights()`` over forwards on ``batches``.

    With no batch (or weights that need none) the module's current weights
    are returned. Raises ValueError if there are none.
    """
    _, module = find_view_weight_module(model)
    collected = []
    model.eval()
    with torch.no_grad():
        for batch in batches:
            model.test_step(batch)
            w = module.get_view_weights()
            if w is not None:
                collected.append(np.asarray(torch.as_tensor(w).float()))
    if not collected:
        w = module.get_view_weights()
        if w is None:
            raise ValueError('the fusion module has no weights before a '
                             'forward; use --num-batches > 0')
        collected.append(np.asarray(torch.as_tensor(w).float()))
    weights = np.stack([c.reshape(-1, c.shape[-1]).mean(0)
                        for c in collected])
    return weights.mean(0)


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmfer4d'))
    from mmengine.runner import Runner

    from mmfer4d.models.utils import build_model_from_cfg
    model = build_model_from_cfg(cfg)
    if args.checkpoint:
        load_checkpoint(model, args.checkpoint, map_location='cpu')
    batches = []
    if args.num_batches > 0 and cfg.get('test_dataloader'):
        loader = Runner.build_dataloader(cfg.test_dataloader)
        for i, batch in enumerate(loader):
            if i >= args.num_batches:
                break
            batches.append(batch)
    try:
        weights = average_view_weights(model, batches)
        print(view_weight_table(weights, args.view_names))
        plot_view_weights(weights, args.view_names, args.out_png)
    except ValueError as err:
        print(f'view_weights: {err}', file=sys.stderr)
        return 2
    print(f'Bar chart written to {args.out_png}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
