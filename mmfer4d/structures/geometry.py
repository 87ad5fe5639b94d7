# Copyright (c) mmfer4d contributors. All rights reserved.
"""Geometry of face meshes: the rotation convention, rigid alignment
(Kabsch), the spherical crop and the nose tip. numpy only.

Axes (the :class:`~mmfer4d.structures.Mesh` convention): right-handed, in
mm, the face looking along ``+z`` (towards the viewer), ``+y`` up, so the
subject's own left is at ``+x``.

Angles are in degrees in every public API; each is a right-hand rotation
about its axis (counter-clockwise when the axis points at the onlooker):

- ``yaw`` about ``+y``: ``yaw > 0`` turns ``+z`` towards ``+x``, the face
  turns to the subject's left;
- ``pitch`` about ``+x``: ``pitch > 0`` turns ``+z`` towards ``-y``, the
  face nods down;
- ``roll`` about ``+z``: ``roll > 0`` turns ``+x`` towards ``+y``, the
  subject's left ear goes up (the face turns counter-clockwise in a front
  view).

A rotation is ``R = Rz(roll) @ Rx(pitch) @ Ry(yaw)`` (``order='zxy'``, the
default of :func:`rotation_matrix`), applied to column vectors
``p' = R @ p`` (to row-stacked points as ``P @ R.T``): yaw first, then
pitch, then roll, each about the fixed axes. The synthetic head poses use
it, and so do the rendering cameras: the world-to-camera rotation of the
view ``(yaw, pitch, roll)`` is ``rotation_matrix(-yaw, pitch, -roll)``
(moving the camera to the subject's left shows what turning the head to
its right would; see :mod:`mmfer4d.rendering.cameras`).

Why ``order`` exists at all: two callers compute their matrices another
way, kept so that their outputs stay bit-identical to the releases that
made the demo's figures. ``view_rotations`` builds the camera-to-world
matrix ``Ry(yaw) @ Rx(-pitch) @ Rz(roll)`` (``order='yxz'``) and transposes
it: the same rotation as above, up to rounding. ``RandomMeshAugment``
composes its small random angles as ``Rz @ Ry @ Rx`` (``order='zyx'``),
which differs from the default only to second order in the angles; keeping
it keeps seeded training runs reproducible. New code uses the default.
"""
from typing import Optional, Sequence

import numpy as np

from .mesh import Mesh

_AXIS_ANGLE = dict(x='pitch', y='yaw', z='roll')


def _elementary(axis: str, angle) -> np.ndarray:
    """``(3, 3)`` right-hand rotation by ``angle`` radians about ``axis``."""
    c, s = np.cos(angle), np.sin(angle)
    if axis == 'x':
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    if axis == 'y':
        return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def rotation_matrix(yaw: float,
                    pitch: float,
                    roll: float,
                    order: str = 'zxy') -> np.ndarray:
    """The rotation of the module's convention, from degrees.

    ``order`` names the elementary rotations of the product from left to
    right: ``'zxy'`` is ``Rz(roll) @ Rx(pitch) @ Ry(yaw)``. Only the two
    callers that the module docstring names use another order.

    The degrees are converted to radians in their own precision (float32
    angles, as the synthetic head poses are stored, give float32 sines
    and cosines; anything else float64); the product is float64.

    Args:
        yaw (float): About ``+y``, degrees.
        pitch (float): About ``+x``, degrees.
        roll (float): About ``+z``, degrees.
        order (str): A permutation of ``'xyz'``. Defaults to ``'zxy'``.

    Returns:
        np.ndarray: ``(3, 3)`` float64 rotation, applied as ``R @ p``.

    Raises:
        ValueError: If ``order`` is not a permutation of ``'xyz'``.
    """
    if not isinstance(order, str) or sorted(order) != ['x', 'y', 'z']:
        raise ValueError(
            f"order must be a permutation of 'xyz', got {order!r}")
    radians = dict(
        zip(('yaw', 'pitch', 'roll'),
            np.deg2rad(np.asarray([yaw, pitch, roll]))))
    first, second, third = (
        _elementary(axis, radians[_AXIS_ANGLE[axis]]) for axis in order)
    return first @ second @ third


def kabsch_rotation(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The rotation that best maps centred ``source`` points onto ``target``.

    Minimises ``sum_i ||R (a_i - a_mean) - (b_i - b_mean)||^2`` over proper
    rotations (det R = +1), by the SVD of the cross-covariance matrix with
    the reflection correction (Kabsch, Acta Cryst. A32, 1976, eq. 10;
    Umeyama, TPAMI 1991, eq. 39 without scale).

    Args:
        source (np.ndarray): ``(L, 3)`` points.
        target (np.ndarray): ``(L, 3)`` corresponding points.

    Returns:
        np.ndarray: ``(3, 3)`` float64 rotation R, applied as ``R @ p``.

    Raises:
        ValueError: If the shapes differ or fewer than 3 points are given.
    """
    a = np.asarray(source, dtype=np.float64)
    b = np.asarray(target, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2 or a.shape[1] != 3 or len(a) < 3:
        raise ValueError('kabsch_rotation needs two (L, 3) arrays with '
                         f'L >= 3, got {a.shape} and {b.shape}')
    h = (a - a.mean(0)).T @ (b - b.mean(0))
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(vt.T @ u.T)) or 1.0
    return vt.T @ np.diag([1.0, 1.0, d]) @ u.T


def crop_mesh_sphere(mesh: Mesh, center: Sequence[float],
                     radius: float) -> Mesh:
    """Keep the part of a mesh inside a sphere.

    Vertices farther than ``radius`` from ``center`` are removed, with every
    face that uses one of them; the remaining faces are reindexed, and
    per-face UVs and per-vertex colours are kept consistent. Landmarks and
    the texture image are left as they are.

    Args:
        mesh (Mesh): The mesh.
        center (Sequence[float]): ``(3,)`` centre of the sphere in mm.
        radius (float): Radius in mm.

    Returns:
        Mesh: A new mesh (the input is not changed).
    """
    center = np.asarray(center, dtype=np.float64)
    dist2 = ((mesh.vertices.astype(np.float64) - center)**2).sum(1)
    keep = dist2 <= float(radius)**2
    if keep.all():
        return mesh.copy()
    new_index = np.cumsum(keep, dtype=np.int64) - 1
    face_keep = keep[mesh.faces].all(axis=1) if mesh.num_faces else \
        np.zeros(0, dtype=bool)
    faces = new_index[mesh.faces[face_keep]].astype(np.int32)
    return mesh.copy(
        vertices=mesh.vertices[keep],
        faces=faces.reshape(-1, 3),
        face_uvs=None if mesh.face_uvs is None else mesh.face_uvs[face_keep],
        vertex_colors=None
        if mesh.vertex_colors is None else mesh.vertex_colors[keep])


# Index (0-based) of the nose tip in landmark schemes that have one, keyed by
# the number of landmarks. Multi-PIE / iBUG 68: point 31 (1-based) is the
# tip of the nose ("pronasale").
NOSE_TIP_INDEX = {68: 30}

# Schemes without a nose-tip point but with nose points around it: the tip
# is estimated geometrically among the vertices under the nose landmarks.
# BU-3DFE / BU-4DFE / BP4D 83 points: 37-48 (1-based) outline the nose
# (bridge sides, alae, nostrils).
NOSE_REGION_INDICES = {83: tuple(range(36, 48))}


def _named_nose_tip(mesh: Mesh) -> Optional[int]:
    """Index of a landmark named like the nose tip, if any."""
    names = mesh.metainfo.get('landmark_names')
    if names is None or len(names) != len(mesh.landmarks):
        return None
    for i, name in enumerate(names):
        key = str(name).lower().replace('_', ' ').replace('-', ' ')
        if 'nose tip' in key or key.strip() == 'pronasale':
            return i
    return None


def estimate_nose_tip(mesh: Mesh,
                      nose_index: Optional[int] = None,
                      top_k: int = 50,
                      central_fraction: float = 0.35,
                      tip_radius: float = 3.0) -> np.ndarray:
    """Estimate the nose tip of a roughly frontal face.

    In order of preference:

    1. ``mesh.landmarks[nose_index]`` when ``nose_index`` is given.
    2. The landmark named like ``'nose tip'`` in
       ``mesh.metainfo['landmark_names']`` (Bosphorus ``.lm3`` files name
       it ``'Nose tip'``).
    3. A scheme known by its landmark count (:data:`NOSE_TIP_INDEX`:
       68 points -> index 30).
    4. A geometric estimate, restricted to the vertices under the nose
       landmarks for schemes listed in :data:`NOSE_REGION_INDICES` (the
       83-point BU-3DFE scheme has no nose-tip point), else to the central
       vertices: those within ``central_fraction`` of the xy extent from
       the median xy. Among them, the ``top_k`` most frontal (largest z)
       give the tip's xy (their median, so that a few spikes of scanner
       noise cannot win), and the tip's z is the median of the 3 largest
       z within ``tip_radius`` mm of that xy.

    The face is assumed to look along +z, as the readers deliver scans.

    Args:
        mesh (Mesh): The face.
        nose_index (int, optional): Index of the nose tip in
            ``mesh.landmarks``. Defaults to None (automatic).
        top_k (int): Frontal candidates of the geometric estimate.
            Defaults to 50.
        central_fraction (float): Radius of the central region, as a
            fraction of the larger of the x and y extents. Defaults to 0.35.
        tip_radius (float): Radius in mm around the candidates' median xy
            used for the tip's z. Defaults to 3.0.

    Returns:
        np.ndarray: ``(3,)`` float64 nose-tip position in mm.

    Raises:
        ValueError: If the mesh has no vertices, or ``nose_index`` is given
            but the mesh has too few landmarks.
    """
    where = f' ({mesh.path})' if mesh.path else ''
    lms = mesh.landmarks
    if nose_index is not None:
        if lms is None or not -len(lms) <= nose_index < len(lms):
            count = 0 if lms is None else len(lms)
            raise ValueError(f'nose_index={nose_index} but the mesh has '
                             f'{count} landmarks{where}')
        return lms[nose_index].astype(np.float64)
    if lms is not None and len(lms):
        named = _named_nose_tip(mesh)
        if named is not None:
            return lms[named].astype(np.float64)
        if len(lms) in NOSE_TIP_INDEX:
            return lms[NOSE_TIP_INDEX[len(lms)]].astype(np.float64)
    verts = mesh.vertices.astype(np.float64)
    if len(verts) == 0:
        raise ValueError(f'cannot find the nose tip of an empty mesh{where}')
    xy = verts[:, :2]
    region = None
    if lms is not None and len(lms) in NOSE_REGION_INDICES:
        nose = lms[list(NOSE_REGION_INDICES[len(lms)]), :2]
        lo, hi = nose.min(0) - 5.0, nose.max(0) + 5.0
        region = np.all((xy >= lo) & (xy <= hi), axis=1)
        if not region.any():
            region = None
    if region is None:
        centre = np.median(xy, axis=0)
        extent = float((xy.max(0) - xy.min(0)).max())
        dist = np.linalg.norm(xy - centre, axis=1)
        region = dist <= max(central_fraction * extent, 1e-6)
    cand = verts[region]
    k = int(min(top_k, len(cand)))
    top = cand[np.argpartition(-cand[:, 2], k - 1)[:k]]
    tip_xy = np.median(top[:, :2], axis=0)
    near = cand[np.linalg.norm(cand[:, :2] - tip_xy, axis=1) <= tip_radius]
    if len(near) == 0:
        near = top
    zs = np.sort(near[:, 2])[-3:]
    return np.array([tip_xy[0], tip_xy[1], np.median(zs)])
