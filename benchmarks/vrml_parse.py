# Copyright (c) mmfer4d contributors. All rights reserved.
"""Parse time of a BU-3DFE-sized VRML file (target: under 50 ms).

Writes a synthetic ``F3D``-like scan (about 8,000 vertices and 15,000
polygons, a mix of triangles and quads, with texture coordinates and
``texCoordIndex``) twice: in the flat layout (a top-level ``Shape``) and in
the scanners' nested layout (``DEF <name> Transform { children [ Shape {
... } ] }``, a ``Normal`` list the reader skips, trailing ``Viewpoint`` s),
then prints the median and minimum wall time of
:func:`mmfer4d.datasets.io.read_vrml` for each over repeats.

Usage::

    python benchmarks/vrml_parse.py [--repeats 20]
"""
import argparse
import os.path as osp
import statistics
import tempfile
import time

import numpy as np

from mmfer4d.datasets.io import read_vrml


def write_bu3dfe_like(path: str, rows: int = 80, cols: int = 100,
                      seed: int = 0, nested: bool = False):
    """A ``rows x cols`` height-field face, quads and split quads, in the
    flat or (``nested``) the scanners' layout."""
    rng = np.random.default_rng(seed)
    r, c = np.mgrid[0:rows, 0:cols].astype(np.float64)
    z = 80 * np.exp(-((c - cols / 2)**2 + (r - rows / 2)**2) / 900.0)
    vertices = np.stack([c * 1.6 - 80, r * 2.0 - 80, z], -1).reshape(-1, 3)
    vertices += rng.normal(0, 0.01, vertices.shape)
    uv = np.stack([c / (cols - 1), r / (rows - 1)], -1).reshape(-1, 2)
    p = (r[:-1, :-1] * cols + c[:-1, :-1]).astype(np.int64).ravel()
    quads = np.stack([p, p + 1, p + cols + 1, p + cols], 1)
    split = rng.random(len(quads)) < 0.9  # most cells as 2 triangles
    polys = [f'{a} {b} {c_} -1' for a, b, c_ in
             np.concatenate([quads[split][:, [0, 1, 2]],
                             quads[split][:, [0, 2, 3]]])]
    polys += [f'{a} {b} {c_} {d} -1' for a, b, c_, d in quads[~split]]
    with open(path, 'w') as f:
        f.write('#VRML V2.0 utf8\n# benchmark scan\n')
        if nested:
            f.write('DEF bench Transform {\n children [\n')
        f.write('Shape {\n  appearance Appearance {\n'
                '    texture ImageTexture { url "bench.bmp" }\n  }\n'
                '  geometry IndexedFaceSet {\n    ccw TRUE\n    solid FALSE\n'
                '    coord Coordinate {\n      point [\n')
        f.write(',\n'.join(' '.join(f'{v:.6f}' for v in row)
                           for row in vertices))
        if nested:
            f.write('\n      ]\n    }\n    normal Normal {\n      vector [\n')
            f.write(',\n'.join('0 0 1' for _ in vertices))
        f.write('\n      ]\n    }\n    coordIndex [\n')
        f.write(',\n'.join(polys))
        f.write('\n    ]\n    texCoord TextureCoordinate {\n      point [\n')
        f.write(',\n'.join(f'{u:.6f} {v:.6f}' for u, v in uv))
        f.write('\n      ]\n    }\n    texCoordIndex [\n')
        f.write(',\n'.join(polys))
        f.write('\n    ]\n  }\n}\n')
        if nested:
            f.write(' ]\n}\n')
        f.write('DEF Front Viewpoint { position 0 0 500 }\n'
                'DEF Left Viewpoint { position -500 0 0 }\n')
    return len(vertices), len(polys)


def _time(path: str, repeats: int):
    mesh = read_vrml(path, load_texture=False)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        read_vrml(path, load_texture=False)
        times.append(time.perf_counter() - start)
    return mesh, times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for layout in ('flat', 'nested'):
            path = osp.join(tmp, f'{layout}.wrl')
            num_vertices, num_polys = write_bu3dfe_like(
                path, nested=layout == 'nested')
            size_kb = osp.getsize(path) / 1024
            mesh, times = _time(path, args.repeats)
            print(f'{layout:6s} layout: {num_vertices} vertices, {num_polys} '
                  f'polygons, {size_kb:.0f} KiB -> {mesh.num_faces} '
                  f'triangles; read_vrml median over {args.repeats} runs '
                  f'{1e3 * statistics.median(times):.2f} ms (min '
                  f'{1e3 * min(times):.2f} ms; target < 50 ms)')


if __name__ == '__main__':
    main()
