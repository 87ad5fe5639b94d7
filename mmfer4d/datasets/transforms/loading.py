# Copyright (c) mmfer4d contributors. All rights reserved.
"""Transforms that read face scans and 4D sequences from disk."""
from typing import List, Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from mmfer4d.registry import TRANSFORMS
from mmfer4d.structures.mesh import Mesh


def get_meshes(results: dict) -> Tuple[List[Mesh], bool]:
    """The meshes a mesh transform works on.

    Args:
        results (dict): A pipeline results dict holding ``'mesh'`` (a scan)
            or ``'meshes'`` (the frames of a sequence).

    Returns:
        tuple[list[Mesh], bool]: The meshes (one for a scan) and whether the
        sample is a sequence.

    Raises:
        KeyError: If neither key is present.
    """
    if 'meshes' in results:
        return list(results['meshes']), True
    if 'mesh' in results:
        return [results['mesh']], False
    raise KeyError("a mesh transform needs results['mesh'] (a scan) or "
                   "results['meshes'] (a sequence); load the sample first "
                   f'(keys present: {sorted(results)})')


def set_meshes(results: dict, meshes: List[Mesh], is_sequence: bool) -> None:
    """Write back what :func:`get_meshes` returned, under the same key."""
    if is_sequence:
        results['meshes'] = list(meshes)
    else:
        results['mesh'] = meshes[0]


def _load_mesh(path, landmark_path, load_texture):
    # Imported here so that the transforms module imports even while the
    # readers are being written, and to keep import time low in workers.
    from mmfer4d.datasets.io import load_mesh
    return load_mesh(
        path, landmark_path=landmark_path, load_texture=load_texture)


@TRANSFORMS.register_module()
class LoadMeshFromFile(BaseTransform):
    """Read one face scan with :func:`mmfer4d.datasets.io.load_mesh`.

    Any format the readers support (VRML ``.wrl``, ``.obj``, ``.ply``,
    ``.bnt``...) is accepted; the reader is chosen from the file name.

    **Required Keys:**

    - mesh_path
    - landmark_path (optional, read when ``with_landmarks=True``)

    **Added Keys:**

    - mesh (:obj:`~mmfer4d.structures.Mesh`)

    Args:
        load_texture (bool): Whether to read the texture image (and UVs).
            Turn off when only geometry is rendered, it is the slowest part
            of reading a textured scan. Defaults to True.
        with_landmarks (bool): Whether to read ``landmark_path`` when the
            sample has one. Defaults to True.

    Raises:
        KeyError: If ``mesh_path`` is missing.
        MeshReadError: If the file cannot be read (raised by the reader,
            naming the file and the problem).
    """

    def __init__(self, load_texture: bool = True, with_landmarks: bool = True):
        self.load_texture = load_texture
        self.with_landmarks = with_landmarks

    def transform(self, results: dict) -> dict:
        if 'mesh_path' not in results:
            raise KeyError(f'{type(self).__name__} needs '
                           f"results['mesh_path'] (keys: {sorted(results)})")
        landmark_path = results.get('landmark_path') \
            if self.with_landmarks else None
        results['mesh'] = _load_mesh(results['mesh_path'], landmark_path,
                                     self.load_texture)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(load_texture={self.load_texture}, '
                f'with_landmarks={self.with_landmarks})')


@TRANSFORMS.register_module()
class LoadMeshSequence(BaseTransform):
    """Read the selected frames of a 4D sequence.

    Frames named by ``frame_inds`` (written by :class:`SampleFrames`) are
    read in that order; a frame index repeated to pad a short sequence is
    read once and copied.

    **Required Keys:**

    - frame_paths (list[str])
    - frame_inds (optional, ``(T,)`` int; all frames when absent)
    - landmark_paths (optional, list[str] parallel to ``frame_paths``)

    **Added Keys:**

    - meshes (list[:obj:`~mmfer4d.structures.Mesh`], length T)
    - frame_inds (when absent: ``np.arange(len(frame_paths))``, int64)

    Args:
        load_texture (bool): Whether to read textures. Defaults to True.
        with_landmarks (bool): Whether to read ``landmark_paths`` when
            present. Defaults to True.

    Raises:
        KeyError: If ``frame_paths`` is missing.
        IndexError: If a frame index is outside ``frame_paths``.
        MeshReadError: If a frame cannot be read.
    """

    def __init__(self, load_texture: bool = True, with_landmarks: bool = True):
        self.load_texture = load_texture
        self.with_landmarks = with_landmarks

    def transform(self, results: dict) -> dict:
        if 'frame_paths' not in results:
            raise KeyError(f'{type(self).__name__} needs '
                           f"results['frame_paths'] (keys: {sorted(results)})")
        paths = results['frame_paths']
        frame_inds = results.get('frame_inds')
        if frame_inds is None:
            frame_inds = np.arange(len(paths), dtype=np.int64)
        frame_inds = np.asarray(frame_inds, dtype=np.int64).reshape(-1)
        bad = frame_inds[(frame_inds < 0) | (frame_inds >= len(paths))]
        if bad.size:
            raise IndexError(
                f'frame index {int(bad[0])} outside the {len(paths)} frames '
                f'of the sequence starting {paths[0] if paths else "?"}')
        landmark_paths = results.get('landmark_paths') \
            if self.with_landmarks else None
        loaded = {}
        meshes = []
        for ind in frame_inds.tolist():
            if ind in loaded:
                meshes.append(loaded[ind].copy())
                continue
            lm_path = landmark_paths[ind] if landmark_paths else None
            mesh = _load_mesh(paths[ind], lm_path, self.load_texture)
            loaded[ind] = mesh
            meshes.append(mesh)
        results['meshes'] = meshes
        results['frame_inds'] = frame_inds
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(load_texture={self.load_texture}, '
                f'with_landmarks={self.with_landmarks})')
