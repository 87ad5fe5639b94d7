# Copyright (c) mmfer4d contributors. All rights reserved.
"""Speed of the synthetic data: indexing and mesh synthesis.

Targets (issue 4): index the 2,500 scans of SyntheticFER3D in under a
second; synthesise a mesh in under 5 ms (median).

Example:
    python benchmarks/synthesize_mesh.py --repeats 200
"""
import argparse
import time

import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=200)
    parser.add_argument('--face-model', default=None)
    args = parser.parse_args()

    from mmfer4d.datasets import EXPRESSIONS_7
    from mmfer4d.datasets import SyntheticFER3D, SyntheticFER4D
    from mmfer4d.synthesis import load_face_model, shape, synthesize

    t0 = time.perf_counter()
    model = load_face_model(args.face_model)
    print(f'face model load (first call, float16 -> float32): '
          f'{(time.perf_counter() - t0) * 1e3:.0f} ms, '
          f'{model.num_vertices} vertices, {len(model.faces)} triangles')

    t0 = time.perf_counter()
    data = SyntheticFER3D(
        classes=EXPRESSIONS_7, intensities=None, face_model=args.face_model)
    print(f'index SyntheticFER3D ({len(data)} scans): '
          f'{time.perf_counter() - t0:.3f} s')
    t0 = time.perf_counter()
    seq = SyntheticFER4D(face_model=args.face_model)
    print(f'index SyntheticFER4D ({len(seq)} sequences): '
          f'{time.perf_counter() - t0:.3f} s')

    infos = [data.get_data_info(i % len(data)) for i in range(args.repeats)]
    synthesize(infos[0]['synth_params'], model)  # texture cache, warm-up
    for with_texture, cold in ((False, False), (True, False), (True, True)):
        times = []
        for info in infos:
            if cold:  # a subject not seen yet: identity product included
                shape._IDENTITY_CACHE.clear()
            t0 = time.perf_counter()
            synthesize(info['synth_params'], model, with_texture=with_texture)
            times.append(time.perf_counter() - t0)
        times = np.asarray(times) * 1e3
        state = 'uncached' if cold else 'cached'
        print(f'synthesize (texture={with_texture}, identity {state}): '
              f'median '
              f'{np.median(times):.2f} ms, p90 {np.percentile(times, 90):.2f}'
              f' ms over {len(times)} meshes (textures cached per subject)')


if __name__ == '__main__':
    main()
