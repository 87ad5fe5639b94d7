# Copyright (c) mmfer4d contributors. All rights reserved.
"""Views per second of the batched ``torch`` backend beside ``numba``.

For each image size and batch size: B copies of the ICT face (9,409
vertices, 18,460 triangles, textured; the mesh of
``benchmarks/render_throughput.py``) rendered from 8 views as depth +
normals + texture colour in one ``MultiViewRenderer.render_batch`` call,
timed after a warm-up call (median of ``--repeats`` calls, wall clock),
with the memory the call used: on CUDA ``torch.cuda.max_memory_allocated``
over the call, on CPU the peak growth of the process's resident memory
sampled every 2 ms during the call after returning freed heap pages to the
OS (``malloc_trim``; outputs included, so a lower bound where a short
peak falls between samples). The torch backend runs on
CUDA when present (else on the CPU, with torch's intra-op threads), the
numba backend on one CPU core.

Usage::

    python benchmarks/render_torch.py              # 96, 224 px; B 32, 256
    python benchmarks/render_torch.py --sizes 96 --batches 8 32 --repeats 2
    python benchmarks/render_torch.py --device cpu --backends torch
"""
import argparse
import ctypes
import importlib.util
import os
import os.path as osp
import statistics
import threading
import time

import torch

from mmfer4d.rendering import MultiViewRenderer

HERE = osp.dirname(osp.abspath(__file__))


def _face_mesh():
    spec = importlib.util.spec_from_file_location(
        'render_throughput', osp.join(HERE, 'render_throughput.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    mesh, name = module.face_mesh()
    return mesh.copy(landmarks=None), name, module.VIEWS, module.EXTENT_MM


class _RssPeak:
    """Peak growth of this process's resident memory while active, bytes
    (sampled)."""

    def __init__(self, period_s=0.002):
        self.period_s = period_s
        self.page = os.sysconf('SC_PAGE_SIZE')

    def _rss(self):
        with open('/proc/self/statm') as f:
            return int(f.read().split()[1]) * self.page

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(self.period_s)

    def __enter__(self):
        # Freed heap pages go back to the OS first, so that memory reused
        # from earlier calls shows as growth.
        try:
            ctypes.CDLL('libc.so.6').malloc_trim(0)
        except (OSError, AttributeError):
            pass
        self.base = self.peak = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())
        self.used = self.peak - self.base


def measure(renderer, meshes, repeats, device):
    """``(median s per call, bytes used by one call)``."""
    renderer.render_batch(meshes)  # warm-up (allocator, numba cache)
    times = []
    for _ in range(repeats):
        if device.type == 'cuda':
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        renderer.render_batch(meshes)
        if device.type == 'cuda':
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        renderer.render_batch(meshes)
        torch.cuda.synchronize()
        used = torch.cuda.max_memory_allocated() - base
    else:
        with _RssPeak() as rss:
            renderer.render_batch(meshes)
        used = rss.used
    return statistics.median(times), used


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--sizes', type=int, nargs='+', default=[96, 224])
    parser.add_argument('--batches', type=int, nargs='+', default=[32, 256])
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--device', default=None,
                        help='torch device (default: cuda when present)')
    parser.add_argument('--backends', nargs='+', default=['torch', 'numba'],
                        choices=['torch', 'numba'])
    args = parser.parse_args()
    device = torch.device(args.device or (
        'cuda' if torch.cuda.is_available() else 'cpu'))
    mesh, name, views, extent = _face_mesh()
    where = (torch.cuda.get_device_name(device) if device.type == 'cuda'
             else f'CPU, {torch.get_num_threads()} torch threads')
    print(f'{name}: {mesh.num_vertices} vertices, {mesh.num_faces} '
          f'triangles; {len(views)} views; depth + normal + rgb (texture); '
          f'torch {torch.__version__} on {device} ({where}); numba on one '
          f'core; median of {args.repeats} calls after a warm-up')
    print(f'{"backend":>8} {"size":>5} {"batch":>6} {"s/call":>8} '
          f'{"views/s":>9} {"MB/call":>8}')
    backends = [(b, dict(device=str(device)) if b == 'torch' else None)
                for b in args.backends]
    for size in args.sizes:
        for batch in args.batches:
            meshes = [mesh] * batch
            for backend, backend_args in backends:
                renderer = MultiViewRenderer(
                    views=views, size=size, extent_mm=extent,
                    modalities=('depth', 'normal', 'rgb'), backend=backend,
                    backend_args=backend_args, max_memory_mb=1e5)
                dev = device if backend == 'torch' else torch.device('cpu')
                sec, used = measure(renderer, meshes, args.repeats, dev)
                rate = batch * len(views) / sec
                print(f'{backend:>8} {size:>5} {batch:>6} {sec:>8.3f} '
                      f'{rate:>9.0f} {used / 1e6:>8.0f}', flush=True)


if __name__ == '__main__':
    main()
