# Copyright (c) mmfer4d contributors. All rights reserved.
"""Plot one synthetic subject's seven expressions as a PNG grid.

Row 1: grey Lambertian shading (the geometry); row 2: the procedural albedo
texture under the same shading. Rendering is a painter's algorithm with
matplotlib (triangles drawn far to near), so no renderer is needed.

Example:
    python tools/visualization/plot_expressions.py \
        --out docs/images/synthetic_expressions.png --subject 0 --seed 0
"""
import argparse

import numpy as np


def parse_args():
    parser = argparse.ArgumentParser(
        description='Plot the seven expressions of one synthetic subject.')
    parser.add_argument(
        '--out',
        default='docs/images/synthetic_expressions.png',
        help='output PNG path')
    parser.add_argument('--subject', type=int, default=0,
                        help='subject index')
    parser.add_argument('--seed', type=int, default=0, help='data seed')
    parser.add_argument('--intensity', type=int, default=4,
                        help='intensity level 1..4 of the expressions')
    parser.add_argument('--face-model', default=None,
                        help='path of ict_face_model.npz')
    parser.add_argument('--dpi', type=int, default=110)
    return parser.parse_args()


def shade(mesh, light=(0.3, 0.4, 1.0)):
    """Per-triangle Lambertian shading and albedo, far-to-near order.

    Returns:
        tuple: ``(polys (F, 3, 2), grey (F,), rgb (F, 3))`` sorted by depth.
    """
    v = mesh.vertices
    tri = v[mesh.faces]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normal /= np.linalg.norm(normal, axis=1, keepdims=True) + 1e-12
    light = np.asarray(light, np.float64)
    light /= np.linalg.norm(light)
    grey = np.clip(normal @ light, 0, 1) * 0.85 + 0.15
    facing = normal[:, 2] > -0.05
    rgb = np.ones((len(tri), 3)) * 0.8
    if mesh.texture is not None and mesh.face_uvs is not None:
        uv = mesh.face_uvs.mean(1)
        h, w = mesh.texture.shape[:2]
        col = np.clip((uv[:, 0] * w).astype(int), 0, w - 1)
        row = np.clip(((1 - uv[:, 1]) * h).astype(int), 0, h - 1)
        rgb = mesh.texture[row, col] / 255.0
    order = np.argsort(tri[:, :, 2].mean(1))
    order = order[facing[order]]
    return tri[order][:, :, :2], grey[order], rgb[order]


def main():
    args = parse_args()
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    from mmfer4d.datasets import EXPRESSIONS_7, SyntheticFER3D
    from mmfer4d.synthesis import synthesize

    data = SyntheticFER3D(
        classes=EXPRESSIONS_7,
        intensities=(args.intensity, ),
        num_subjects=args.subject + 1,
        seed=args.seed,
        face_model=args.face_model)
    infos = [d for d in data.data_list
             if d['subject'] == data.subjects[args.subject]]
    infos.sort(key=lambda d: EXPRESSIONS_7.index(d['expression']))
    fig, axes = plt.subplots(2, len(infos), figsize=(2.1 * len(infos), 5.2))
    for col, info in enumerate(infos):
        params = dict(info['synth_params'], pose=np.zeros(3), noise_std=0.0)
        mesh = synthesize(params)
        polys, grey, rgb = shade(mesh)
        shades = (np.repeat(grey[:, None], 3, 1), rgb * grey[:, None])
        for row, colors in enumerate(shades):
            ax = axes[row, col]
            ax.add_collection(
                PolyCollection(
                    polys, facecolors=colors, edgecolors='face',
                    linewidths=0.1))
            ax.set_xlim(-85, 85)
            ax.set_ylim(-90, 95)
            ax.set_aspect('equal')
            ax.axis('off')
        aus = [n for n, on in zip(data.metainfo['au_names'],
                                  info['au_labels']) if on]
        axes[0, col].set_title(
            f"{info['expression']}\n{'+'.join(a[2:] for a in aus) or '-'}",
            fontsize=8)
    fig.suptitle(
        f'SyntheticFER3D subject {data.subjects[args.subject]} '
        f'(ICT-FaceKit + FACS), intensity {args.intensity}', fontsize=9)
    fig.tight_layout()
    fig.savefig(args.out, dpi=args.dpi)
    print(f'saved {args.out}')


if __name__ == '__main__':
    main()
