# Copyright (c) mmfer4d contributors. All rights reserved.
"""The last step of every mesh reader: a validated, non-empty Mesh."""
from typing import Optional

import numpy as np

from mmfer4d.structures import Mesh
from .errors import MeshReadError


def colors_to_uint8(rgb: np.ndarray) -> np.ndarray:
    """``(N, 3)`` colours in [0, 1] (all at most 1) or [0, 255] to uint8;
    NaN becomes 0, values are clipped."""
    rgb = np.nan_to_num(np.asarray(rgb, np.float64))
    scale = 255.0 if rgb.size and rgb.max() <= 1 else 1.0
    return np.round(np.clip(rgb * scale, 0, 255)).astype(np.uint8)


def make_mesh(path: str, metainfo: dict,
              texture_path: Optional[str] = None, **arrays) -> Mesh:
    """Build a :class:`Mesh` and :meth:`~Mesh.validate` it.

    Args:
        path (str): The file read, for messages.
        metainfo (dict): The mesh's metainfo (``'path'`` set by the reader).
        texture_path (str, optional): Stored as ``metainfo['texture_path']``
            when given. Defaults to None.
        **arrays: ``vertices``, ``faces`` and the optional arrays.

    Returns:
        Mesh: A mesh with at least one vertex and one triangle, every index
        in range and every value finite in float32.

    Raises:
        MeshReadError: If it has no vertex or no triangle, or fails
            validation (the reason named).
    """
    try:
        mesh = Mesh(**arrays).validate()
    except ValueError as err:
        raise MeshReadError(path, str(err)) from None
    if mesh.num_vertices == 0 or mesh.num_faces == 0:
        raise MeshReadError(path, f'empty geometry: {mesh.num_vertices} '
                            f'vertices, {mesh.num_faces} triangles')
    mesh.metainfo = metainfo
    if texture_path is not None:
        metainfo['texture_path'] = texture_path
    return mesh
