# Copyright (c) mmfer4d contributors. All rights reserved.
"""Pack the ICT-FaceKit face model into the npz mmfer4d synthesises from.

Reads a clone of https://github.com/ICT-VGL/ICT-FaceKit (MIT license):

    ICT-FaceKit/FaceXModel/
        generic_neutral_mesh.obj   mean face, cm, quads
        identity000.obj ...        one full mesh per identity mode
        browDown_L.obj ...         one full mesh per blendshape (ARKit names)
        vertex_indices.json        "expressions" (blendshape names, in
                                   order), "idx_to_landmark_verts" (the 68
                                   Multi-PIE landmarks' vertex indices)

and writes one npz with the keys ``vertices`` (N, 3) float32 mm,
``faces`` (F, 3) int32, ``uv`` (N, 2) float32, ``identity_basis``
(I, N, 3) float16 mm, ``expression_basis`` (E, N, 3) float16 mm,
``expression_names`` (E,) str, ``landmarks68`` (68,) int32 and ``source``
() str. Only the full face area (vertices 0..9408 of ICT-FaceKit, the
``--num-vertices`` first vertices) is kept, with the polygons whose corners
all lie in it; polygons are fan-split into triangles; cm become mm. Each
basis is the displacement of its OBJ from the neutral mesh.

mmfer4d ships the result as package data
(``mmfer4d/synthesis/data/ict_facekit/ict_face_model.npz``, the default
``--out``: this tool rebuilds it). To use another build without replacing
the shipped file, write it elsewhere and point ``MMFER4D_ICT_FACE_MODEL``
(or a data set's ``face_model=``) at it.

Example:
    python tools/dataset_converters/ict_facekit_to_npz.py \
        /path/to/ICT-FaceKit --out work_dirs/ict_face_model.npz
"""
import argparse
import json
import os
import os.path as osp
import re
import subprocess
import sys
from typing import List, Optional, Tuple

import numpy as np

#: Where the package finds its shipped model (the default output).
PACKAGED_OUT = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'mmfer4d',
    'synthesis', 'data', 'ict_facekit', 'ict_face_model.npz')
#: Vertices of ICT-FaceKit's "full face area" (indices 0..9408).
FACE_AREA_VERTICES = 9409
CM_TO_MM = 10.0


class ObjError(ValueError):
    """An OBJ file that cannot be read; the message names file and line."""


def read_obj(path: str) -> Tuple[np.ndarray, List[List[int]], np.ndarray,
                                 List[List[int]]]:
    """Read the vertices, polygons and texture coordinates of an OBJ.

    Args:
        path (str): OBJ file.

    Returns:
        tuple: ``vertices (N, 3)`` float64 in the file's unit, polygons
        (list of 0-based vertex index lists), ``texcoords (T, 2)`` float64
        and the polygons' 0-based texcoord indices (empty lists where a
        corner has none).

    Raises:
        ObjError: On a malformed ``v``/``vt``/``f`` line or an index out of
            range, naming the file and line.
    """
    verts, tex, polys, polys_t = [], [], [], []
    with open(path, 'r', encoding='utf-8', errors='replace') as f:
        for num, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            try:
                if parts[0] == 'v':
                    verts.append([float(x) for x in parts[1:4]])
                    if len(verts[-1]) != 3:
                        raise ValueError('needs 3 coordinates')
                elif parts[0] == 'vt':
                    tex.append([float(x) for x in parts[1:3]])
                    if len(tex[-1]) != 2:
                        raise ValueError('needs 2 coordinates')
                elif parts[0] == 'f':
                    if len(parts) < 4:
                        raise ValueError('a face needs 3 corners')
                    vi, ti = [], []
                    for corner in parts[1:]:
                        fields = corner.split('/')
                        idx = int(fields[0])
                        vi.append(idx - 1 if idx > 0 else len(verts) + idx)
                        if len(fields) > 1 and fields[1]:
                            t = int(fields[1])
                            ti.append(t - 1 if t > 0 else len(tex) + t)
                    polys.append(vi)
                    polys_t.append(ti if len(ti) == len(vi) else [])
            except ValueError as err:
                raise ObjError(f'{path}: bad {parts[0]!r} line ({err}) '
                               f'(line {num})') from None
    vertices = np.asarray(verts, np.float64).reshape(-1, 3)
    texcoords = np.asarray(tex, np.float64).reshape(-1, 2)
    for vi, ti in zip(polys, polys_t):
        if min(vi) < 0 or max(vi) >= len(vertices):
            raise ObjError(f'{path}: face index out of range '
                           f'[1, {len(vertices)}]')
        if ti and (min(ti) < 0 or max(ti) >= len(texcoords)):
            raise ObjError(f'{path}: texcoord index out of range '
                           f'[1, {len(texcoords)}]')
    return vertices, polys, texcoords, polys_t


def fan_triangulate(polys: List[List[int]]) -> np.ndarray:
    """Split each polygon ``(v0, v1, ..., vk)`` into ``(v0, vi, vi+1)``.

    Returns:
        np.ndarray: ``(F, 3)`` int64 triangles, in polygon order.
    """
    tris = [(p[0], p[i], p[i + 1]) for p in polys
            for i in range(1, len(p) - 1)]
    return np.asarray(tris, np.int64).reshape(-1, 3)


def _git_commit(root: str) -> Optional[str]:
    try:
        out = subprocess.run(['git', '-C', root, 'rev-parse', 'HEAD'],
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    sha = out.stdout.strip()
    return sha if out.returncode == 0 and re.fullmatch(r'[0-9a-f]{40}',
                                                       sha) else None


def convert(root: str,
            out: str,
            num_vertices: int = FACE_AREA_VERTICES,
            max_identities: Optional[int] = None) -> dict:
    """Build the npz from an ICT-FaceKit clone.

    Args:
        root (str): The clone, or its ``FaceXModel`` folder.
        out (str): Output npz path (folders are created).
        num_vertices (int): Vertices kept (the face area). Defaults to 9409.
        max_identities (int, optional): Keep at most this many identity
            modes. Defaults to all ``identity###.obj``.

    Returns:
        dict: The arrays written.

    Raises:
        FileNotFoundError: If the folder, the neutral mesh, the json or a
            blendshape OBJ is missing.
        ValueError: If a morph target's vertex count differs from the
            neutral mesh, the json lacks a key, or a landmark lies outside
            the kept vertices.
    """
    model_dir = root if osp.isfile(
        osp.join(root, 'generic_neutral_mesh.obj')) else osp.join(
            root, 'FaceXModel')
    neutral_path = osp.join(model_dir, 'generic_neutral_mesh.obj')
    json_path = osp.join(model_dir, 'vertex_indices.json')
    for p in (neutral_path, json_path):
        if not osp.isfile(p):
            raise FileNotFoundError(
                f'{p} not found: expected a clone of '
                'https://github.com/ICT-VGL/ICT-FaceKit (folder FaceXModel)')
    with open(json_path, 'r', encoding='utf-8') as f:
        config = json.load(f)
    for key in ('expressions', 'idx_to_landmark_verts'):
        if key not in config:
            raise ValueError(f'{json_path}: missing key {key!r}')
    names = [str(n) for n in config['expressions']]
    landmarks = np.asarray(config['idx_to_landmark_verts'], np.int64)
    if landmarks.shape != (68, ):
        raise ValueError(f'{json_path}: idx_to_landmark_verts must hold 68 '
                         f'indices, got {landmarks.shape}')

    neutral, polys, texcoords, polys_t = read_obj(neutral_path)
    if neutral.shape[0] < num_vertices:
        raise ValueError(f'{neutral_path}: {neutral.shape[0]} vertices, '
                         f'fewer than the {num_vertices} kept')
    if landmarks.min() < 0 or landmarks.max() >= num_vertices:
        raise ValueError(f'{json_path}: a landmark lies outside vertices '
                         f'0..{num_vertices - 1}')
    keep = [i for i, p in enumerate(polys) if max(p) < num_vertices]
    faces = fan_triangulate([polys[i] for i in keep])
    # One texture coordinate per vertex: the first corner naming it.
    uv = np.zeros((num_vertices, 2), np.float64)
    seen = np.zeros(num_vertices, bool)
    for i in keep:
        for v, t in zip(polys[i], polys_t[i]):
            if not seen[v]:
                uv[v] = texcoords[t]
                seen[v] = True

    def deltas(paths):
        out_ = np.zeros((len(paths), num_vertices, 3), np.float32)
        for k, p in enumerate(paths):
            verts = read_obj(p)[0]
            if verts.shape[0] != neutral.shape[0]:
                raise ValueError(f'{p}: {verts.shape[0]} vertices, the '
                                 f'neutral mesh has {neutral.shape[0]}')
            out_[k] = (verts[:num_vertices] - neutral[:num_vertices]) * \
                CM_TO_MM
        return out_

    exp_paths = []
    for n in names:
        p = osp.join(model_dir, n + '.obj')
        if not osp.isfile(p):
            raise FileNotFoundError(f'{p} not found (blendshape {n!r} of '
                                    f'{json_path})')
        exp_paths.append(p)
    id_paths = []
    while max_identities is None or len(id_paths) < max_identities:
        p = osp.join(model_dir, f'identity{len(id_paths):03d}.obj')
        if not osp.isfile(p):
            break
        id_paths.append(p)
    commit = _git_commit(root) or _git_commit(model_dir)
    source = ('github.com/ICT-VGL/ICT-FaceKit' +
              (f'@{commit}' if commit else '') + ' FaceXModel (MIT)')
    arrays = dict(
        vertices=(neutral[:num_vertices] * CM_TO_MM).astype(np.float32),
        faces=faces.astype(np.int32),
        uv=uv.astype(np.float32),
        identity_basis=deltas(id_paths).astype(np.float16),
        expression_basis=deltas(exp_paths).astype(np.float16),
        expression_names=np.asarray(names),
        landmarks68=landmarks.astype(np.int32),
        source=np.asarray(source))
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    np.savez_compressed(out, **arrays)
    return arrays


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Pack ICT-FaceKit (FaceXModel) into one npz.')
    parser.add_argument('root', help='clone of ICT-VGL/ICT-FaceKit')
    parser.add_argument(
        '--out',
        default=PACKAGED_OUT,
        help='output npz (default: the model shipped with the package)')
    parser.add_argument(
        '--num-vertices',
        type=int,
        default=FACE_AREA_VERTICES,
        help='vertices kept (the full face area is 9409)')
    parser.add_argument(
        '--max-identities', type=int, default=None,
        help='keep at most this many identity modes')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    arrays = convert(args.root, args.out, args.num_vertices,
                     args.max_identities)
    print(f"wrote {args.out}: {arrays['vertices'].shape[0]} vertices, "
          f"{arrays['faces'].shape[0]} triangles, "
          f"{arrays['identity_basis'].shape[0]} identity modes, "
          f"{arrays['expression_basis'].shape[0]} blendshapes")
    return 0


if __name__ == '__main__':
    sys.exit(main())
