# Copyright (c) mmfer4d contributors. All rights reserved.
"""Texture images next to a scan: found, bounded, decoded or warned."""
import os.path as osp
import warnings
from typing import Optional, Sequence, Tuple

import numpy as np

from .errors import display_path
from .limits import get_read_limits


def load_texture(path: str, candidates: Sequence[str],
                 load: bool = True) -> Tuple[Optional[np.ndarray],
                                             Optional[str]]:
    """The first of ``candidates`` that exists, decoded to RGB.

    A missing, oversized or undecodable image only warns (naming the scan
    and the image): the geometry of a scan is worth having without it.

    Args:
        path (str): The scan that names the image, for messages.
        candidates (Sequence[str]): Image paths, in order of preference.
        load (bool): Decode the image; False only resolves its path.
            Defaults to True.

    Returns:
        tuple: ``(texture, image_path)``: ``(H, W, 3)`` uint8 RGB (row 0 at
        the top) or None, and the image path (the first candidate when none
        exists), or None when there is no candidate.
    """
    candidates = [c for c in candidates if c]
    if not candidates:
        return None, None
    found = next((c for c in candidates if osp.isfile(c)), None)
    if not load:
        return None, found or candidates[0]
    if found is None:
        warnings.warn(f'{display_path(path)}: texture file '
                      f'{display_path(candidates[0])!r} not found; geometry '
                      'loaded without texture')
        return None, candidates[0]
    limit = get_read_limits().max_texture_pixels
    try:
        from PIL import Image
        with Image.open(found) as img:
            width, height = img.size
            if width * height > limit:
                raise ValueError(
                    f'{width} x {height} pixels, over the limit of {limit} '
                    '(ReadLimits.max_texture_pixels)')
            texture = np.asarray(img.convert('RGB'), dtype=np.uint8).copy()
    except Exception as err:  # noqa: BLE001 (any decoder failure)
        warnings.warn(f'{display_path(path)}: texture file '
                      f'{display_path(found)!r} could not be read ({err}); '
                      'geometry loaded without texture')
        return None, found
    return texture, found
