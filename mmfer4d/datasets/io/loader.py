# Copyright (c) mmfer4d contributors. All rights reserved.
"""One entry point that reads any supported face scan by its extension."""
import contextlib
import os.path as osp
from typing import Optional

import numpy as np

from mmfer4d.structures import Mesh
from ._source import as_path
from .bnt import read_bnt
from .errors import MeshReadError
from .landmarks import read_bnd, read_lm2, read_lm3
from .obj import read_obj
from .off import read_off
from .ply import read_ply
from .trimesh_io import TRIMESH_EXTENSIONS, read_trimesh
from .vrml import read_vrml

#: Mesh extensions :func:`load_mesh` understands (each also ``+ '.gz'``).
MESH_EXTENSIONS = ('.wrl', '.vrml', '.wrz', '.bnt', '.obj', '.ply',
                   '.off') + TRIMESH_EXTENSIONS


def _extension(path: str) -> str:
    name = path.lower()
    if name.endswith('.gz'):
        name = name[:-3]
    return osp.splitext(name)[1]


def load_landmarks(path, mesh: Mesh) -> Mesh:
    """Attach the landmarks of ``path`` to ``mesh`` (in place).

    ``.bnd`` (any count) and ``.lm3`` set ``mesh.landmarks`` ``(L, 3)``
    (``.lm3`` names go to ``metainfo['landmark_names']``); ``.lm2`` sets
    ``metainfo['landmarks_2d']`` ``(L, 2)`` in pixels, since it has no depth.

    Raises:
        MeshReadError: If the landmark file cannot be read or its extension
            is unknown.
    """
    path = as_path(path)
    with reader_guard(path):
        _attach_landmarks(path, mesh)
    return mesh


def _attach_landmarks(path: str, mesh: Mesh):
    ext = _extension(path)
    if ext == '.bnd':
        mesh.landmarks = read_bnd(path, num_landmarks=None)
    elif ext == '.lm3':
        mesh.landmarks, names = read_lm3(path)
        mesh.metainfo['landmark_names'] = names
    elif ext == '.lm2':
        points, names = read_lm2(path)
        mesh.metainfo['landmarks_2d'] = points
        mesh.metainfo['landmark_names'] = names
    else:
        raise MeshReadError(
            path, f"unsupported landmark extension {ext!r} (expected "
            "'.bnd', '.lm3' or '.lm2')")
    mesh.metainfo['landmark_path'] = path
    if mesh.landmarks is not None:
        mesh.landmarks = np.ascontiguousarray(mesh.landmarks, np.float32)


@contextlib.contextmanager
def reader_guard(path: str):
    """Turn any other exception of a reader into a :class:`MeshReadError`.

    The readers raise :class:`MeshReadError` themselves for every problem
    they know; this net keeps the promise that nothing else comes out of
    :func:`load_mesh` (the reader fuzz suite fails on its message, so a
    case that reaches it is a reader bug to fix).
    """
    try:
        yield
    except MeshReadError:
        raise
    except MemoryError:
        raise MeshReadError(path, 'out of memory while reading (lower '
                            'ReadLimits to fail earlier)') from None
    except Exception as err:  # noqa: BLE001 (the promise above)
        raise MeshReadError(path, f'unexpected reader error: '
                            f'{type(err).__name__}: {str(err)[:200]}') from err


def load_mesh(path,
              landmark_path: Optional[str] = None,
              load_texture: bool = True) -> Mesh:
    """Read a face scan, dispatching on the file extension.

    ``.wrl`` / ``.vrml`` / ``.wrz`` / ``.wrl.gz``: :func:`read_vrml`;
    ``.bnt``: :func:`read_bnt`; ``.obj``: :func:`read_obj`; ``.ply``:
    :func:`read_ply`; ``.off``: :func:`read_off`; ``.stl .glb .gltf``:
    :func:`read_trimesh`. Text formats may be gzipped (``.obj.gz``...).

    Args:
        path (str | bytes | os.PathLike): The mesh file.
        landmark_path (str, optional): A ``.bnd``, ``.lm3`` or ``.lm2`` file
            whose landmarks are attached (see :func:`load_landmarks`).
            Defaults to None.
        load_texture (bool): Read the texture image too. Defaults to True.

    Returns:
        Mesh: The scan, ``metainfo['path']`` set.

    Raises:
        MeshReadError: If the extension is unsupported or a reader fails;
            no other exception comes out of a reader for any file content.
    """
    path = as_path(path)
    with reader_guard(path):
        mesh = _load_mesh(path, load_texture)
    if landmark_path is not None:
        load_landmarks(landmark_path, mesh)
    return mesh


def _load_mesh(path: str, load_texture: bool) -> Mesh:
    ext = _extension(path)
    if ext in ('.wrl', '.vrml', '.wrz'):
        mesh = read_vrml(path, load_texture=load_texture)
    elif ext == '.bnt':
        mesh = read_bnt(path, load_texture=load_texture)
    elif ext == '.obj':
        mesh = read_obj(path, load_texture=load_texture)
    elif ext == '.ply':
        mesh = read_ply(path, load_texture=load_texture)
    elif ext == '.off':
        mesh = read_off(path)
    elif ext in TRIMESH_EXTENSIONS:
        mesh = read_trimesh(path, load_texture=load_texture)
    else:
        raise MeshReadError(
            path, f'unsupported mesh extension {ext!r} (expected one of '
            f'{", ".join(MESH_EXTENSIONS)})')
    return mesh
