# Copyright (c) mmfer4d contributors. All rights reserved.
"""Named views and yaw / pitch / roll cameras orbiting the face centre.

Frame conventions (the :class:`~mmfer4d.structures.Mesh` convention): the
face looks along world ``+z``, ``+y`` is up, so the subject's own left side
is at world ``+x``. A camera at angles ``(yaw, pitch, roll)`` in degrees sits
on the sphere around the face centre in the direction

``b = (sin(yaw) cos(pitch), sin(pitch), cos(yaw) cos(pitch))``

and looks at the centre along ``-b``:

- ``yaw > 0`` moves the camera towards world ``+x``, i.e. to the subject's
  LEFT, so the image shows the left cheek and the nose points to the image
  left; ``yaw < 0`` shows the right cheek.
- ``pitch > 0`` raises the camera above the face (it looks down on the
  forehead and the top of the nose); ``pitch < 0`` looks up from below
  (chin, nostrils).
- ``roll`` turns the camera about its viewing axis, counter-clockwise as seen
  from behind the camera, so the face appears turned clockwise by ``roll``
  in the image.

The camera frame is right-handed: ``x`` to the image right, ``y`` to the
image top, ``z`` from the face towards the camera. Rendered normals are given
in this frame.
"""
from typing import Dict, Sequence, Tuple, Union

import numpy as np

#: Named views, ``name -> (yaw, pitch, roll)`` in degrees. ``'left'`` and
#: ``'right'`` are the subject's own left / right cheek seen at 45 degrees.
NAMED_VIEWS: Dict[str, Tuple[float, float, float]] = {
    'front': (0.0, 0.0, 0.0),
    'left': (45.0, 0.0, 0.0),
    'right': (-45.0, 0.0, 0.0),
    'up': (0.0, 30.0, 0.0),
    'down': (0.0, -30.0, 0.0),
    'left_profile': (90.0, 0.0, 0.0),
    'right_profile': (-90.0, 0.0, 0.0),
    'up_left': (45.0, 30.0, 0.0),
    'up_right': (-45.0, 30.0, 0.0),
    'down_left': (45.0, -30.0, 0.0),
    'down_right': (-45.0, -30.0, 0.0),
}

ViewSpec = Union[str, Sequence[float]]


def resolve_views(views: Union[ViewSpec, Sequence[ViewSpec]]) -> np.ndarray:
    """Turn view names and / or angle tuples into an angle array.

    Args:
        views (str | tuple | Sequence[str | tuple]): One view or several. A
            view is a key of :data:`NAMED_VIEWS` or a ``(yaw, pitch, roll)``
            (or ``(yaw, pitch)``) tuple in degrees.

    Returns:
        np.ndarray: ``(V, 3)`` float64 ``(yaw, pitch, roll)`` in degrees.

    Raises:
        ValueError: If a name is unknown, a tuple has the wrong length or a
            non-finite angle, or no view is given.
    """
    if isinstance(views, str) or (
            len(views) in (2, 3)
            and all(isinstance(a, (int, float, np.number)) for a in views)):
        views = [views]
    angles = []
    for view in views:
        if isinstance(view, str):
            if view not in NAMED_VIEWS:
                raise ValueError(f'unknown view {view!r}; named views are '
                                 f'{sorted(NAMED_VIEWS)} or give a '
                                 f'(yaw, pitch, roll) tuple in degrees')
            angles.append(NAMED_VIEWS[view])
            continue
        try:
            ang = [float(a) for a in view]
        except (TypeError, ValueError):
            raise ValueError(f'a view must be a name or a (yaw, pitch, roll) '
                             f'tuple in degrees, got {view!r}') from None
        if len(ang) == 2:
            ang.append(0.0)
        if len(ang) != 3 or not np.all(np.isfinite(ang)):
            raise ValueError(f'a view must be a name or a finite (yaw, pitch, '
                             f'roll) tuple in degrees, got {view!r}')
        angles.append(tuple(ang))
    if not angles:
        raise ValueError('at least one view is needed')
    return np.asarray(angles, dtype=np.float64).reshape(-1, 3)


def view_rotations(angles: np.ndarray) -> np.ndarray:
    """World-to-camera rotations for ``(yaw, pitch, roll)`` cameras.

    The camera-to-world rotation is ``Ry(yaw) @ Rx(-pitch) @ Rz(roll)``
    (columns: camera right, up, back); its transpose is returned, so
    ``p_cam = R @ (p - centre)``. That transpose is
    ``rotation_matrix(-yaw, pitch, -roll)`` of the one rotation convention
    (:mod:`mmfer4d.structures.geometry`), up to rounding; it is computed as
    the transpose of the ``order='yxz'`` product so that the cameras stay
    bit-identical to earlier releases.

    Args:
        angles (np.ndarray): ``(V, 3)`` yaw, pitch, roll in degrees.

    Returns:
        np.ndarray: ``(V, 3, 3)`` float64 world-to-camera rotations.
    """
    from mmfer4d.structures.geometry import rotation_matrix
    angles = np.asarray(angles, dtype=np.float64).reshape(-1, 3)
    out = np.empty((len(angles), 3, 3))
    for k, (yaw, pitch, roll) in enumerate(angles):
        out[k] = rotation_matrix(yaw, -pitch, roll, order='yxz').T
    return out
