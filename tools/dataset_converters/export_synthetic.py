# Copyright (c) mmfer4d contributors. All rights reserved.
"""Write a synthetic data set to disk in the BU-3DFE / BU-4DFE layouts.

So the file-based readers and data sets (``BU3DFEDataset``,
``BU4DFEDataset``, ``LoadMeshFromFile``) run end to end without licensed
data::

    SyntheticFER3D -> OUT/F0001/F0001_AN04WH_F3D.wrl  (+ .bmp texture,
                                                       + .bnd landmarks)
    SyntheticFER4D -> OUT/F001/Angry/000.wrl          (+ 000.bmp)
                      BND_ROOT/F001/Angry/000.bnd     (83 landmarks)

Each ``.wrl`` is written in the scanners' layout (``DEF <stem> Transform {
children [ Shape { ... IndexedFaceSet ... } ] }`` then ``Viewpoint`` nodes,
see :func:`mmfer4d.datasets.io.write_vrml`), so the file-based pipelines
read the same nesting as on the real data sets.

The race code of BU-3DFE names is always ``WH``: the synthetic identities
have no ethnicity label, the code is a placeholder the file grammar needs.

BU-3DFE's ``.bnd`` holds 83 points; the synthetic meshes carry the 68
Multi-PIE points. :func:`landmarks68_to_bu83` resamples each 68-point
region curve by arc length to BU-3DFE's per-region counts (eyes 8 + 8,
brows 10 + 10, nose 12, mouth 20, contour 15), in that region order. This
is an approximation: it matches the counts and regions, not BU-3DFE's exact
point definitions (its brows outline the upper and lower edge; here the
10 points lie along the 68-point brow line).

Examples:
    python tools/dataset_converters/export_synthetic.py \
        configs/_base_/datasets/synthetic_fer3d.py --out data/synth-bu3dfe
    python tools/dataset_converters/export_synthetic.py SyntheticFER4D \
        --num-subjects 2 --num-frames 20 --out data/synth-bu4dfe
"""
import argparse
import os
import os.path as osp
import sys
from typing import List, Optional

import numpy as np

#: BU-3DFE expression codes and BU-4DFE folder names.
BU3DFE_CODES = dict(
    anger='AN', disgust='DI', fear='FE', happiness='HA', sadness='SA',
    surprise='SU', neutral='NE')
BU4DFE_DIRS = dict(
    anger='Angry', disgust='Disgust', fear='Fear', happiness='Happy',
    sadness='Sad', surprise='Surprise')
RACE_CODE = 'WH'

# (68-point indices, number of BU-3DFE points, closed curve)
_BU83_REGIONS = (
    (list(range(36, 42)), 8, True),  # right eye
    (list(range(42, 48)), 8, True),  # left eye
    (list(range(17, 22)), 10, False),  # right brow
    (list(range(22, 27)), 10, False),  # left brow
    (list(range(27, 36)), 12, False),  # nose: bridge then base
    (list(range(48, 68)), 20, None),  # mouth: the same 20 points
    (list(range(0, 17)), 15, False),  # contour
)


def _resample(points: np.ndarray, num: int, closed: bool) -> np.ndarray:
    pts = np.concatenate([points, points[:1]]) if closed else points
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    total = arc[-1]
    targets = np.linspace(0, total, num, endpoint=not closed) if total > 0 \
        else np.zeros(num)
    return np.stack([np.interp(targets, arc, pts[:, k]) for k in range(3)],
                    axis=1)


def landmarks68_to_bu83(lm68: np.ndarray) -> np.ndarray:
    """Approximate BU-3DFE's 83 landmarks from the 68 Multi-PIE points.

    Args:
        lm68 (np.ndarray): ``(68, 3)`` landmarks, mm.

    Returns:
        np.ndarray: ``(83, 3)`` float32 (see the module docstring).

    Raises:
        ValueError: If ``lm68`` is not ``(68, 3)``.
    """
    lm68 = np.asarray(lm68, np.float64)
    if lm68.shape != (68, 3):
        raise ValueError(f'expected (68, 3) landmarks, got {lm68.shape}')
    parts = []
    for idx, num, closed in _BU83_REGIONS:
        pts = lm68[idx]
        parts.append(pts if closed is None else _resample(pts, num, closed))
    out = np.concatenate(parts).astype(np.float32)
    assert out.shape == (83, 3)
    return out


def export_scans(dataset,
                 out: str,
                 limit: Optional[int] = None,
                 progress: bool = False) -> List[str]:
    """Write a SyntheticFER3D-like data set as BU-3DFE files.

    Args:
        progress (bool): Show mmengine's progress bar (scans done, rate,
            elapsed time, ETA) on stdout. Defaults to False.

    Returns:
        list[str]: The ``.wrl`` paths written.
    """
    from mmfer4d.datasets.io import write_bnd, write_vrml
    from mmfer4d.synthesis import synthesize

    written = []
    for i, info in enumerate(_progress(dataset.data_list[:limit], progress)):
        code = BU3DFE_CODES[info['expression']]
        subject = info['subject']
        stem = f"{subject}_{code}{info['intensity']:02d}{RACE_CODE}_F3D"
        folder = osp.join(out, subject)
        os.makedirs(folder, exist_ok=True)
        mesh = synthesize(info['synth_params'])
        path = osp.join(folder, stem + '.wrl')
        write_vrml(path, mesh, texture_filename=stem + '.bmp')
        write_bnd(osp.join(folder, stem + '.bnd'),
                  landmarks68_to_bu83(mesh.landmarks))
        written.append(path)
    return written


def export_sequences(dataset,
                     out: str,
                     bnd_root: Optional[str] = None,
                     limit: Optional[int] = None,
                     progress: bool = False) -> List[str]:
    """Write a SyntheticFER4D-like data set as BU-4DFE files.

    Every frame becomes ``SUBJECT/Expression/NNN.wrl`` + ``NNN.bmp``; with
    ``bnd_root``, landmarks go to the parallel tree ``bnd_root/SUBJECT/
    Expression/NNN.bnd``. ``progress`` shows mmengine's progress bar
    (sequences done, rate, elapsed time, ETA) on stdout.

    Returns:
        list[str]: The sequence folders written.

    Raises:
        KeyError: If an expression has no BU-4DFE folder name (e.g. the
            micro-expression classes).
    """
    from mmfer4d.datasets.io import write_bnd, write_vrml
    from mmfer4d.synthesis import synthesize_sequence

    written = []
    for info in _progress(dataset.data_list[:limit], progress):
        name = BU4DFE_DIRS[info['expression']]
        folder = osp.join(out, info['subject'], name)
        os.makedirs(folder, exist_ok=True)
        meshes = synthesize_sequence(info['synth_params'])
        for t, mesh in enumerate(meshes):
            write_vrml(osp.join(folder, f'{t:03d}.wrl'), mesh,
                       texture_filename=f'{t:03d}.bmp')
            if bnd_root is not None:
                lm_dir = osp.join(bnd_root, info['subject'], name)
                os.makedirs(lm_dir, exist_ok=True)
                write_bnd(osp.join(lm_dir, f'{t:03d}.bnd'),
                          landmarks68_to_bu83(mesh.landmarks))
        written.append(folder)
    return written


def _progress(items: list, show: bool):
    """``items``, with mmengine's progress bar when ``show``."""
    if not show or not items:
        return items
    from mmengine.utils import track_iter_progress
    return track_iter_progress(items, file=sys.stdout)


def build_dataset(source: str, **overrides):
    """A synthetic data set from a config file or a type name.

    A config's ``train_dataloader.dataset`` is used, without its fold (all
    subjects) and pipeline. ``overrides`` whose value is not None replace
    arguments.
    """
    from mmengine.registry import init_default_scope

    from mmfer4d.registry import DATASETS
    init_default_scope('mmfer4d')
    if source.endswith('.py'):
        from mmengine.config import Config
        cfg = Config.fromfile(source)
        ds = dict(cfg.train_dataloader.dataset)
    else:
        ds = dict(type=source)
    for key in ('fold', 'split', 'pipeline', 'num_folds'):
        ds.pop(key, None)
    ds.update({k: v for k, v in overrides.items() if v is not None})
    return DATASETS.build(ds)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Export a synthetic set in the BU-3DFE/BU-4DFE layout.')
    parser.add_argument(
        'source',
        help='config file (its train dataset) or a type: SyntheticFER3D, '
        'SyntheticFER4D')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument(
        '--bnd-root',
        default=None,
        help='landmark tree of a 4D export (default: OUT + "-bnd")')
    parser.add_argument('--num-subjects', type=int, default=None)
    parser.add_argument('--num-frames', type=int, default=None)
    parser.add_argument('--seed', type=int, default=None)
    parser.add_argument(
        '--all-intensities',
        action='store_true',
        help='3D: export the four intensities and neutral (BU-3DFE has '
        'them all), not only the config\'s')
    parser.add_argument(
        '--limit', type=int, default=None, help='export the first N only')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    overrides = dict(num_subjects=args.num_subjects, seed=args.seed)
    is_seq = 'FER4D' in args.source.upper() or 'fer4d' in args.source
    if is_seq:
        overrides['num_frames'] = args.num_frames
    elif args.all_intensities:
        from mmfer4d.datasets import EXPRESSIONS_7
        overrides.update(classes=EXPRESSIONS_7)
        overrides['intensities'] = (1, 2, 3, 4)
    dataset = build_dataset(args.source, **overrides)
    if hasattr(dataset, 'num_frames'):
        bnd_root = args.bnd_root or args.out.rstrip('/\\') + '-bnd'
        done = export_sequences(dataset, args.out, bnd_root, args.limit,
                                progress=True)
        print(f'wrote {len(done)} sequences to {args.out} (landmarks in '
              f'{bnd_root})')
    else:
        done = export_scans(dataset, args.out, args.limit, progress=True)
        print(f'wrote {len(done)} scans to {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
