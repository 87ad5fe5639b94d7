# Copyright (c) mmfer4d contributors. All rights reserved.
"""FLOPs and parameters of a model, per sample and per view.

Example::

    python tools/analysis_tools/get_flops.py CONFIG
    python tools/analysis_tools/get_flops.py CONFIG --input-shape 3 4 112 112
    python tools/analysis_tools/get_flops.py CONFIG \\
        --input-shape 8 3 4 112 112 --out flops.json     # 8 frames

mmpretrain's ``get_flops.py`` feeds one ``(1, 3, H, W)`` image to
``extract_feat``; our models take ``(N, V, C, H, W)`` renders (or
``(N, T, V, C, H, W)`` sequences). This tool counts with mmengine's
``FlopAnalyzer`` (fvcore's counters: one multiply-add is one FLOP, the
convention of mmpretrain's metafiles) what ``model(inputs, mode='tensor')``
computes for one sample: by default the first sample of the config's test
(else val, else train) data set, run through its pipeline and the model's
data preprocessor, so the views, frames, modalities and size are the
config's. ``--input-shape`` gives a zero input of that shape instead
(``C H W``, ``V C H W`` or ``T V C H W``, without the batch axis).

Per view is the ``backbone`` module's count divided by the images it saw
(views x frames): the cost of encoding one rendered view. Per sample adds
the neck, the fusion and the projection; the text tower is not run by
``mode='tensor'`` (class prompts are embedded once, not per sample), so
only its parameters are counted. Ops the counters do not know (e.g.
softmax) count zero and are listed. The model is traced with autograd on,
so that ``nn.MultiheadAttention`` takes its decomposed path (projections
and ``scaled_dot_product_attention``, which this tool adds a count for)
instead of the fused kernel no counter sees into.
"""
import argparse
import json
import sys
from functools import partial

import torch
from mmengine.analysis import FlopAnalyzer, parameter_count
from mmengine.analysis.jit_handles import get_shape
from mmengine.config import Config, DictAction
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

#: Batch layouts by ``inputs.dim()``: the axes that multiply the images the
#: backbone sees, besides the batch.
IMAGE_AXES = {4: (), 5: ('views', ), 6: ('frames', 'views')}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--input-shape',
        type=int,
        nargs='+',
        help='a zero input of this shape, without the batch axis: C H W, '
        'V C H W or T V C H W (default: the first sample of the data set)')
    parser.add_argument('--out', help='also write the numbers as JSON')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def sample_inputs(cfg, model):
    """The preprocessed inputs of the first sample of the config's data.

    Returns:
        torch.Tensor: ``(1, ...)`` as the model's data preprocessor makes
        them.

    Raises:
        ValueError: If the config has no data loader.
    """
    from mmfer4d.registry import DATASETS
    for name in ('test_dataloader', 'val_dataloader', 'train_dataloader'):
        if cfg.get(name):
            dataset = DATASETS.build(cfg[name]['dataset'])
            break
    else:
        raise ValueError('the config has no data loader; pass --input-shape')
    data = model.data_preprocessor(pseudo_collate([dataset[0]]), False)
    return data['inputs']


def sdpa_flop_jit(inputs, outputs):
    """Multiply-adds of ``aten::scaled_dot_product_attention``.

    ``softmax(Q K^T) V`` with ``Q (..., L, E)``, ``K (..., S, E)`` and
    ``V (..., S, Ev)``: ``prod(...) * L * S * (E + Ev)``, the two matrix
    products (mmengine counts ``matmul`` the same way); the softmax, like
    mmengine's, is not counted.
    """
    q, k, v = (get_shape(x) for x in inputs[:3])
    batch = 1
    for n in q[:-2]:
        batch *= n
    return batch * q[-2] * k[-2] * (q[-1] + v[-1])


def model_complexity(model, inputs):
    """FLOPs and parameters of ``model(inputs, mode='tensor')``.

    Args:
        model (torch.nn.Module): An mmengine model (``forward(inputs,
            data_samples, mode)``) with, usually, a ``backbone``.
        inputs (torch.Tensor): ``(1, C, H, W)``, ``(1, V, C, H, W)`` or
            ``(1, T, V, C, H, W)``.

    Returns:
        dict: ``flops_per_sample``, ``flops_per_view`` (None without a
        ``backbone`` module), ``params``, ``params_by_module`` and
        ``flops_by_module`` (top-level children), ``input_shape``,
        ``images_per_sample`` (views x frames) and ``unsupported_ops``.

    Raises:
        ValueError: If ``inputs`` is not one sample of 4 to 6 dimensions.
    """
    if inputs.dim() not in IMAGE_AXES or inputs.shape[0] != 1:
        raise ValueError('inputs must be one sample (1, C, H, W), '
                         '(1, V, C, H, W) or (1, T, V, C, H, W), got '
                         f'{tuple(inputs.shape)}')
    images = 1
    for axis in range(1, inputs.dim() - 3):
        images *= int(inputs.shape[axis])
    model.eval()
    forward = model.forward
    model.forward = partial(forward, mode='tensor')
    try:
        analyzer = FlopAnalyzer(model, (inputs, ))
        analyzer.set_op_handle(
            'aten::scaled_dot_product_attention', sdpa_flop_jit)
        analyzer.unsupported_ops_warnings(False)
        analyzer.uncalled_modules_warnings(False)
        by_module = analyzer.by_module()
        total = analyzer.total()
        unsupported = dict(analyzer.unsupported_ops())
    finally:
        model.forward = forward
    params = parameter_count(model)
    children = [name for name, _ in model.named_children()]
    backbone = by_module.get('backbone') if 'backbone' in children else None
    return dict(
        input_shape=list(inputs.shape),
        images_per_sample=images,
        flops_per_sample=int(total),
        flops_per_view=None if backbone is None else backbone / images,
        params=int(params['']),
        flops_by_module={c: int(by_module.get(c, 0))
                         for c in children},
        params_by_module={c: int(params.get(c, 0))
                          for c in children},
        unsupported_ops=unsupported)


def _size(n):
    """``18.02 M``-style size of a count (None: ``n/a``, 0: ``-``)."""
    if n is None:
        return 'n/a'
    for unit, scale in (('G', 1e9), ('M', 1e6), ('K', 1e3)):
        if abs(n) >= scale:
            return f'{n / scale:.4g} {unit}'
    return f'{n:.4g}' if n else '-'


def report(info, axes=()):
    """The printed summary of :func:`model_complexity`."""
    shape = info['input_shape']
    layout = ' x '.join(f'{n} {a}' for n, a in zip(shape[1:], axes))
    lines = [
        f'Input: 1 sample, shape {tuple(shape)}'
        + (f' ({layout} of {tuple(shape[-3:])})' if layout else ''),
        f'FLOPs per sample: {_size(info["flops_per_sample"])}  '
        '(mode="tensor"; 1 multiply-add = 1 FLOP)',
        f'FLOPs per view:   {_size(info["flops_per_view"])}  (backbone / '
        f'{info["images_per_sample"]} images)',
        f'Params:           {_size(info["params"])}', '',
        f'{"module":<24}{"FLOPs":>12}{"params":>12}'
    ]
    for name, params in info['params_by_module'].items():
        flops = info['flops_by_module'][name]
        if flops or params:
            lines.append(
                f'{name:<24}{_size(flops):>12}{_size(params):>12}')
    if info['unsupported_ops']:
        ops = ', '.join(f'{k} x{v}' for k, v in
                        sorted(info['unsupported_ops'].items()))
        lines += ['', f'Not counted (no FLOP rule): {ops}']
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmfer4d'))
    from mmfer4d.models.utils import build_model_from_cfg
    model = build_model_from_cfg(cfg)
    try:
        if args.input_shape:
            inputs = torch.zeros(1, *args.input_shape)
        else:
            inputs = sample_inputs(cfg, model)
        info = model_complexity(model, inputs)
    except ValueError as err:
        print(f'get_flops: {err}', file=sys.stderr)
        return 2
    print(report(info, IMAGE_AXES[inputs.dim()]))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(info, f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
