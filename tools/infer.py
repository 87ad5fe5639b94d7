# Copyright (c) mmfer4d contributors. All rights reserved.
"""Classify the expression of mesh files (or sequences) with a model.

Example::

    python tools/infer.py a.wrl b.obj --config CONFIG.py \\
        --checkpoint epoch_20.pth --show-dir vis/
    python tools/infer.py --sequence f000.obj f001.obj f002.obj \\
        --config CONFIG_4D.py --checkpoint CKPT

Prints one table row per input; an unreadable file gets its error in the
table and the others are still classified (exit status 1 when any failed).
"""
import argparse
import sys

from mmfer4d.apis import FERInferencer


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('meshes', nargs='*', help='mesh files')
    parser.add_argument('--sequence', nargs='+',
                        help='frame files of ONE sequence (4D model)')
    parser.add_argument('--config', required=True)
    parser.add_argument('--checkpoint', help='weights (random init without)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--show-dir', help='save rendered views + '
                        'prediction as PNG here')
    parser.add_argument('--topk', type=int, default=3,
                        help='scores shown per input')
    args = parser.parse_args(argv)
    if not args.meshes and not args.sequence:
        parser.error('give mesh files or --sequence FRAMES')
    return args


def format_table(results, classes, topk=3) -> str:
    lines = ['| Input | Prediction | Top scores |', '| --- | --- | --- |']
    for res in results:
        name = res['input'] if isinstance(res['input'], str) else \
            f'{res["input"][0]} (+{len(res["input"]) - 1} frames)'
        if res.get('error'):
            lines.append(f'| {name} | ERROR | {res["error"]} |')
            continue
        order = sorted(range(len(res['pred_score'])),
                       key=lambda k: -res['pred_score'][k])[:topk]
        top = ', '.join(
            f'{classes[k] if classes and k < len(classes) else k} '
            f'{100 * res["pred_score"][k]:.1f}%' for k in order)
        lines.append(f'| {name} | {res["pred_class"]} | {top} |')
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    inferencer = FERInferencer(args.config, args.checkpoint, args.device)
    inputs = list(args.meshes) + ([args.sequence] if args.sequence else [])
    results = inferencer(inputs, show_dir=args.show_dir)
    print(format_table(results, inferencer.classes, args.topk))
    if args.show_dir:
        print(f'Rendered views written to {args.show_dir}')
    return 1 if any(r.get('error') for r in results) else 0


if __name__ == '__main__':
    sys.exit(main())
