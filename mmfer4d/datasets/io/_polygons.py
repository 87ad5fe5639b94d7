# Copyright (c) mmfer4d contributors. All rights reserved.
"""Fan triangulation of polygon lists, bounded by ``ReadLimits``."""
import numpy as np

from .errors import MeshReadError
from .limits import get_read_limits


def fan(path: str, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Positions in the corner list of the fan triangles of each polygon.

    Polygon ``p0 p1 ... pk`` gives triangles ``(p0, pj, pj+1)`` for
    ``j = 1 .. k-1``; polygons of fewer than 3 corners give none.

    Args:
        path (str): The file, for messages.
        starts (np.ndarray): ``(P,)`` position of each polygon's first
            corner.
        sizes (np.ndarray): ``(P,)`` its corner count.

    Returns:
        np.ndarray: ``(T, 3)`` int64 positions.

    Raises:
        MeshReadError: If ``T`` exceeds ``ReadLimits.max_faces`` (checked
            before anything is allocated).
    """
    keep = sizes >= 3
    starts, sizes = starts[keep], sizes[keep]
    ntri = sizes - 2
    total = int(ntri.sum())
    limit = get_read_limits().max_faces
    if total > limit:
        raise MeshReadError(path, f'{total} triangles, over the limit of '
                            f'{limit} (ReadLimits.max_faces, '
                            'MMFER4D_READ_MAX_FACES)')
    first = np.cumsum(ntri) - ntri
    base = np.repeat(starts, ntri)
    j = np.arange(total, dtype=np.int64) - np.repeat(first, ntri) + 1
    return np.stack([base, base + j, base + j + 1], axis=1)
