# Copyright (c) mmfer4d contributors. All rights reserved.
"""Classify the expression of mesh files (or sequences) with a model.

Example::

    python tools/infer.py a.wrl b.obj --config CONFIG.py \\
        --checkpoint epoch_20.pth --show-dir vis/
    python tools/infer.py --sequence f000.obj f001.obj f002.obj \\
        --config CONFIG_4D.py --checkpoint CKPT
    python tools/infer.py F001/Angry/ F002/Happy/ --config CONFIG_4D.py \\
        --checkpoint CKPT --out predictions.json

Prints one table row per input (a mesh file, or for a 4D model a folder of
frames or the files after ``--sequence``); an input that cannot be
classified, whatever the reason, gets its error in its row and the others
are still classified (exit status 1 when any failed). ``--out FILE.json``
writes the rows (the keys of mmpretrain's inferencers): ``input``,
``pred_label``, ``pred_class``, ``pred_score`` (the top score),
``pred_scores`` (one per class) and ``error`` (null, or why the input has
no prediction). The picture of a sequence (``--show-dir``) shows its middle
sampled frame and names that frame's file.
"""
import argparse
import json
import os
import os.path as osp
import sys

from mmfer4d.apis import FERInferencer


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('meshes', nargs='*',
                        help='mesh files (or, for a 4D model, folders of '
                        'frames)')
    parser.add_argument('--sequence', nargs='+',
                        help='frame files of ONE sequence (4D model)')
    parser.add_argument('--config', required=True)
    parser.add_argument('--checkpoint', help='weights (random init without)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--batch-size', type=int, default=1,
                        help='inputs per forward')
    parser.add_argument('--show-dir', help='save rendered views + '
                        'prediction as PNG here')
    parser.add_argument('--topk', type=int, default=3,
                        help='scores shown per input')
    parser.add_argument('--out', help='write the rows (input, prediction '
                        'or error) to this JSON file')
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
            error = ' '.join(str(res['error']).split()).replace('|', '/')
            lines.append(f'| {name} | ERROR | {error} |')
            continue
        order = sorted(range(len(res['pred_scores'])),
                       key=lambda k: -res['pred_scores'][k])[:topk]
        top = ', '.join(
            f'{classes[k] if classes and k < len(classes) else k} '
            f'{100 * res["pred_scores"][k]:.1f}%' for k in order)
        lines.append(f'| {name} | {res["pred_class"]} | {top} |')
    return '\n'.join(lines)


def write_rows(results, classes, path: str) -> None:
    """Write the inferencer's rows to ``path`` as JSON.

    Args:
        results (list[dict]): The rows of :class:`FERInferencer`.
        classes (Sequence[str], optional): Class names, stored beside the
            rows so that ``pred_scores`` can be read without the config.
        path (str): The JSON file (its folder is created).
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    keys = ('input', 'pred_label', 'pred_class', 'pred_score',
            'pred_scores', 'error', 'show_file', 'show_error')
    rows = [{k: r[k] for k in keys if k in r} for r in results]
    with open(path, 'w') as f:
        json.dump(dict(classes=None if classes is None else list(classes),
                       rows=rows), f, indent=1)


def main(argv=None):
    args = parse_args(argv)
    inferencer = FERInferencer(args.config, args.checkpoint, args.device)
    inputs = list(args.meshes) + ([args.sequence] if args.sequence else [])
    results = inferencer(inputs, batch_size=args.batch_size,
                         show_dir=args.show_dir)
    print(format_table(results, inferencer.classes, args.topk))
    if args.show_dir:
        print(f'Rendered views written to {args.show_dir}')
    if args.out:
        write_rows(results, inferencer.classes, args.out)
        print(f'Rows written to {args.out}')
    return 1 if any(r.get('error') for r in results) else 0


if __name__ == '__main__':
    sys.exit(main())
