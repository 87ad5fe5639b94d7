# Copyright (c) mmfer4d contributors. All rights reserved.
"""Rendering throughput: our numba rasteriser vs embree ray casting.

Prints, in one run: ms per mesh (median and minimum of repeats after
warm-up, both wall clock and this thread's CPU time ``time.thread_time()``,
which is what one core costs on a busy machine; the issue's target, at most
8 ms per mesh per core, is on the CPU time) for ``MultiViewRenderer`` and for
embree ray casting through trimesh on the same ~19k-triangle open face (the
ICT-FaceKit neutral face, nose tip at the origin, 8 views at 224 x 224, depth +
normals + texture colour), their ratio, and the full pipeline's samples per
second with 0 and 2 DataLoader workers (``SyntheticFER3D`` test pipeline when
available).

``--save-renders FILE.npz`` stores the outputs of a set of configurations
(textured, vertex-coloured and grey faces; orthographic and perspective;
fixed and ``'auto'`` extent; several sizes; every modality, float depth and
triangle ids) and ``--compare-renders FILE.npz`` checks the current code
against them bit for bit: run the first before changing a kernel or backend,
the second after (on the same machine: fused multiply-adds depend on the
CPU).

Usage::

    python benchmarks/render_throughput.py [--repeats 20] [--skip-pipeline]
    python benchmarks/render_throughput.py --save-renders ref.npz
    python benchmarks/render_throughput.py --compare-renders ref.npz
"""
import argparse
import os.path as osp
import statistics
import time

import numpy as np

from mmfer4d.rendering import MultiViewRenderer, kernel_cache_stats
from mmfer4d.structures.mesh import Mesh

ICT = '/work/shared/data/ict_facekit/ict_face_model.npz'
VIEWS = ('front', 'left', 'right', 'up', 'down', (20, 10, 0), (-20, 10, 0),
         (0, 0, 15))
EXTENT_MM = 130.0  # the whole ICT face area fills the frame


def face_mesh():
    rng = np.random.default_rng(0)
    texture = rng.integers(0, 256, (512, 512, 3), dtype=np.uint8)
    for path in (ICT, osp.join('data', 'ict_facekit', 'ict_face_model.npz')):
        if osp.exists(path):
            d = np.load(path)
            v, f, uv = d['vertices'], d['faces'], d['uv']
            v = v - v[d['landmarks68'][30]]
            return Mesh(v, f, face_uvs=uv[f], texture=texture,
                        landmarks=v[d['landmarks68']]), 'ICT face'
    # Fallback: a generated open surface with ~19k triangles.
    n = 99
    g = np.linspace(-70, 70, n)
    x, y = np.meshgrid(g, g)
    z = 40 * np.exp(-(x**2 + y**2) / 3000.0) - 40
    idx = np.arange(n * n).reshape(n, n)
    a, b = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel()
    c, d = idx[1:, :-1].ravel(), idx[1:, 1:].ravel()
    f = np.concatenate([np.stack([a, b, d], 1), np.stack([a, d, c], 1)])
    uv = (np.stack([x, y], -1).reshape(-1, 2) + 70) / 140
    return Mesh(np.stack([x, y, z], -1).reshape(-1, 3), f,
                face_uvs=uv[f], texture=texture), 'generated surface'


def reference_renders(mesh):
    """``{name: array}`` renders of a set of configurations, for
    ``--save-renders`` / ``--compare-renders``."""
    all_mod = ('depth', 'normal', 'rgb', 'shading', 'mask')
    rng = np.random.default_rng(1)
    colors = rng.integers(0, 256, (mesh.num_vertices, 3), dtype=np.uint8)
    meshes = dict(
        texture=mesh.copy(landmarks=None),
        vcolor=mesh.copy(landmarks=None, face_uvs=None, texture=None,
                         vertex_colors=colors),
        grey=mesh.copy(landmarks=None, face_uvs=None, texture=None))
    configs = dict(
        bench=dict(views=VIEWS, size=224, extent_mm=EXTENT_MM,
                   modalities=('depth', 'normal', 'rgb')),
        ortho_all=dict(views=VIEWS, size=(97, 131), extent_mm=EXTENT_MM,
                       modalities=all_mod),
        persp_all=dict(views=('front', (70, -20, 10), (-35, 25, -5)),
                       size=160, ortho=False, fov=35.0, extent_mm=EXTENT_MM,
                       modalities=all_mod),
        auto_bbox=dict(views=('front', 'left', 'down'), size=64,
                       extent_mm='auto', center='bbox',
                       depth_range_mm=60.0, modalities=all_mod),
        persp_near=dict(views=('front', (0, 0, 180)), size=96, ortho=False,
                        fov=60.0, extent_mm=EXTENT_MM,
                        camera_distance_mm=60.0, near_mm=5.0,
                        modalities=('depth', 'normal', 'rgb', 'mask')),
    )
    out = {}
    for cname, cfg in configs.items():
        renderer = MultiViewRenderer(**cfg)
        for mname, m in meshes.items():
            if cname == 'bench' and mname != 'texture':
                continue
            res = renderer.render(m, return_depth=True,
                                  return_face_index=True)
            out[f'{cname}/{mname}/images'] = res.images
            out[f'{cname}/{mname}/depth'] = res.depth
            out[f'{cname}/{mname}/face_index'] = res.face_index
    return out


def compare_renders(path, mesh):
    ref = dict(np.load(path))
    new = reference_renders(mesh)
    bad = []
    for key in sorted(set(ref) | set(new)):
        if key not in ref or key not in new:
            bad.append(f'{key}: only in {"new" if key in new else "ref"}')
        elif ref[key].shape != new[key].shape or not np.array_equal(
                ref[key], new[key]):
            diff = (ref[key] != new[key]).sum() if ref[key].shape == \
                new[key].shape else 'shape'
            bad.append(f'{key}: {diff} values differ')
    print(f'renders vs {path}: {len(ref)} arrays, '
          f'{"all bit-identical" if not bad else "DIFFERENT"}')
    for line in bad:
        print('  ' + line)
    return not bad


def timed(fn, repeats):
    """ms per call: ``(median wall, median CPU, min wall, min CPU)``."""
    fn()
    fn()
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.thread_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
    return (statistics.median(wall) * 1e3, statistics.median(cpu) * 1e3,
            min(wall) * 1e3, min(cpu) * 1e3)


def embree_render(mesh, renderer):
    """Depth, interpolated normals and texture colour by ray casting."""
    import trimesh
    from trimesh.ray.ray_pyembree import RayMeshIntersector
    tm = trimesh.Trimesh(mesh.vertices, mesh.faces, process=False)
    caster = RayMeshIntersector(tm)
    vn = tm.vertex_normals
    tex = mesh.texture
    h, w = renderer.size
    scale = min(h, w) / 2.0 / EXTENT_MM
    jj, ii = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    cam = np.stack([(jj - w / 2) / scale, (h / 2 - ii) / scale,
                    np.full((h, w), 2 * EXTENT_MM)], -1).reshape(-1, 3)

    def run():
        out = []
        for rot in renderer.rotations:
            origins = cam @ rot
            dirs = np.broadcast_to(-rot[2], origins.shape)
            loc, ray, tri = caster.intersects_location(
                origins, dirs, multiple_hits=False)
            img = np.zeros((h * w, 7), np.uint8)
            depth = ((loc - origins[ray]) * dirs[ray]).sum(1)
            bary = trimesh.triangles.points_to_barycentric(
                tm.triangles[tri], loc)
            n = (vn[mesh.faces[tri]] * bary[..., None]).sum(1) @ rot.T
            n *= np.sign(n[:, 2:3] + 1e-12)
            uv = (mesh.face_uvs[tri] * bary[..., None]).sum(1)
            tx = np.clip((uv[:, 0] * tex.shape[1]).astype(int), 0,
                         tex.shape[1] - 1)
            ty = np.clip(((1 - uv[:, 1]) * tex.shape[0]).astype(int), 0,
                         tex.shape[0] - 1)
            span = max(depth.max() - depth.min(), 1e-6)
            img[ray, 0] = 1 + 254 * (depth.max() - depth) / span
            img[ray, 1:4] = (n + 1) * 127.5
            img[ray, 4:7] = tex[ty, tx]
            out.append(img.reshape(h, w, 7))
        return out

    return run


def pipeline_rate(num_workers, num_samples, size):
    import torch
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope

    from mmfer4d.registry import DATASETS
    init_default_scope('mmfer4d')
    pipeline = [
        dict(type='SynthesizeFaceMesh'),
        dict(type='NormalizeFace'),
        dict(type='RenderMultiView', views=VIEWS, size=size,
             modalities=('depth', 'normal', 'rgb')),
        dict(type='PackMultiViewInputs'),
    ]
    dataset = DATASETS.build(
        dict(type='SyntheticFER3D', num_subjects=10, split='test', fold=0,
             pipeline=pipeline))
    subset = torch.utils.data.Subset(dataset,
                                     range(min(num_samples, len(dataset))))
    loader = torch.utils.data.DataLoader(
        subset, batch_size=8, num_workers=num_workers,
        collate_fn=pseudo_collate)
    t0 = time.perf_counter()
    count = sum(len(batch['inputs']) for batch in loader)
    return count / (time.perf_counter() - t0), dataset.__class__.__name__


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--repeats', type=int, default=20)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--pipeline-samples', type=int, default=64)
    parser.add_argument('--skip-pipeline', action='store_true')
    parser.add_argument('--skip-peer', action='store_true',
                        help='do not time embree ray casting')
    parser.add_argument('--save-renders', metavar='FILE.npz')
    parser.add_argument('--compare-renders', metavar='FILE.npz')
    args = parser.parse_args()

    mesh, name = face_mesh()
    if args.save_renders:
        np.savez_compressed(args.save_renders, **reference_renders(mesh))
        print(f'saved the reference renders of {name} to '
              f'{args.save_renders}')
        return
    if args.compare_renders:
        raise SystemExit(0 if compare_renders(args.compare_renders, mesh)
                         else 1)
    renderer = MultiViewRenderer(
        views=VIEWS, size=args.size, modalities=('depth', 'normal', 'rgb'),
        extent_mm=EXTENT_MM)
    t0 = time.perf_counter()
    res = renderer.render(mesh, return_face_index=True)
    print(f'mesh: {name}, {mesh.num_vertices} vertices, {mesh.num_faces} '
          f'triangles; {len(VIEWS)} views at {args.size} px, depth + '
          f'normal + rgb (texture); foreground '
          f'{100 * (res.face_index >= 0).mean():.0f}% of pixels')
    print(f'first call {time.perf_counter() - t0:.2f} s, numba: '
          f'{kernel_cache_stats()}')
    bare = mesh.copy(landmarks=None)
    ours = timed(lambda: renderer.render(bare), args.repeats)
    print(f'numba rasteriser : {ours[0]:7.2f} ms/mesh wall, {ours[1]:7.2f} '
          f'ms/mesh CPU (median of {args.repeats}; min {ours[2]:.2f} wall, '
          f'{ours[3]:.2f} CPU)')
    if mesh.landmarks is not None and hasattr(renderer, 'project_landmarks'):
        lms = timed(lambda: renderer.render(mesh), args.repeats)
        print(f'+ {len(mesh.landmarks)} landmarks    : {lms[0]:7.2f} ms/mesh '
              f'wall, {lms[1]:7.2f} ms/mesh CPU (median; min {lms[2]:.2f} '
              f'wall, {lms[3]:.2f} CPU; projected, with visibility)')
    print(f'target           : <= 8 ms/mesh per core (CPU time): '
          f'{"met" if ours[1] <= 8.0 else "NOT met"} by the median')
    try:
        if args.skip_peer:
            raise ImportError('--skip-peer')
        peer = timed(embree_render(mesh, renderer), max(3, args.repeats // 4))
        print(f'embree ray cast  : {peer[0]:7.2f} ms/mesh wall, '
              f'{peer[1]:7.2f} ms/mesh CPU (median; min {peer[2]:.2f} wall, '
              f'{peer[3]:.2f} CPU)')
        print(f'speed-up         : {peer[0] / ours[0]:.1f}x wall, '
              f'{peer[1] / ours[1]:.1f}x CPU')
    except ImportError as exc:
        print(f'embree peer skipped: {exc}')
    if args.skip_pipeline:
        return
    for workers in (0, 2):
        try:
            rate, ds = pipeline_rate(workers, args.pipeline_samples,
                                     args.size)
        except Exception as exc:  # the pipeline may not be complete yet
            print(f'pipeline ({workers} workers) skipped: {exc!r}')
            continue
        print(f'pipeline {ds} ({workers} workers): {rate:6.1f} samples/s')


if __name__ == '__main__':
    main()
