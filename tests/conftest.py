# Copyright (c) mmfer4d contributors. All rights reserved.
"""Fixtures shared by several test folders."""
import numpy as np
import pytest

from mmfer4d.structures import Mesh
from mmfer4d.synthesis import load_face_model


@pytest.fixture(scope='session')
def face_model():
    """The ICT-FaceKit model shipped with the package."""
    return load_face_model()


def _grid_face(step=4.0, half=60.0, offset=(10.0, -20.0, 30.0), spike=True):
    """A grid face: a paraboloid with a Gaussian nose 25 mm high whose tip
    is a vertex at ``offset + (0, 0, 25)``, plus (``spike``) one tall spike
    of scanner noise at a corner; random face UVs and grey vertex colours.

    Returns:
        tuple: The :class:`Mesh` and its true nose tip ``(3,)``, mm.
    """
    offset = np.asarray(offset, np.float64)
    ticks = np.arange(-half, half + 1e-6, step)
    x, y = np.meshgrid(ticks, ticks)
    z = -0.004 * (x**2 + y**2) + 25.0 * np.exp(-(x**2 + y**2) / (2 * 8.0**2))
    if spike:
        z[0, 0] = 200.0  # scanner outlier far from the centre
    verts = np.stack([x, y, z], -1).reshape(-1, 3) + offset
    n = len(ticks)
    idx = np.arange(n * n).reshape(n, n)
    a, b = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel()
    c, d = idx[1:, :-1].ravel(), idx[1:, 1:].ravel()
    faces = np.concatenate([np.stack([a, b, c], 1), np.stack([b, d, c], 1)])
    uvs = np.random.RandomState(0).rand(len(faces), 3, 2)
    colors = (np.arange(n * n)[:, None] % 256).repeat(3, 1).astype(np.uint8)
    mesh = Mesh(verts, faces, face_uvs=uvs, vertex_colors=colors)
    return mesh, offset + np.array([0.0, 0.0, 25.0])


@pytest.fixture
def grid_face():
    """Factory of :func:`_grid_face` meshes: ``mesh, tip = grid_face()``."""
    return _grid_face
