# Copyright (c) mmfer4d contributors. All rights reserved.
"""Loading of 2D face images with 68 landmarks as a one-view input."""
import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from mmfer4d.registry import TRANSFORMS
from ..face_image_au import read_pts


@TRANSFORMS.register_module()
class LoadFaceImageAU(BaseTransform):
    """Read a face image and its 68 landmarks; crop the face; one view.

    The square crop is centred on the landmarks' bounding box, its side
    ``(1 + 2 * margin)`` times the box's longer side, resized to ``size``
    pixels (``cv2.warpAffine``, bilinear, zeros outside the image); the
    landmarks follow the same map, so they stay in the crop's pixel
    coordinates (x right, y down), as :class:`RenderMultiView` gives them
    for rendered views.

    **Required Keys:** img_path, landmark_path (iBUG ``.pts``).

    **Added Keys:**

    - img (list of one ``(size, size, 3)`` uint8 RGB image)
    - landmarks_2d (float32 ``(1, 68, 2)``), landmarks_2d_visible (bool
      ``(1, 68)``, all True)
    - img_shape (``(size, size)``), modalities (``('rgb', )``)

    Args:
        size (int): Crop side, pixels. Defaults to 112.
        margin (float): Extra border per side, fraction of the landmark
            box. Defaults to 0.15.

    Raises:
        FileNotFoundError: If the image cannot be read (named).
        ValueError: If the landmark file is malformed or has not 68
            points (named).
    """

    def __init__(self, size: int = 112, margin: float = 0.15):
        if size < 8:
            raise ValueError(f'size must be >= 8, got {size}')
        self.size = int(size)
        self.margin = float(margin)

    def transform(self, results: dict) -> dict:
        path = results['img_path']
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            raise FileNotFoundError(f'LoadFaceImageAU: cannot read image '
                                    f'{path}')
        lm = read_pts(results['landmark_path'])
        if lm.shape != (68, 2):
            raise ValueError(f"{results['landmark_path']}: {lm.shape[0]} "
                             'landmarks, expected 68 (Multi-PIE / iBUG)')
        lo, hi = lm.min(0), lm.max(0)
        centre = (lo + hi) / 2
        side = float((hi - lo).max()) * (1 + 2 * self.margin)
        side = max(side, 1.0)
        s = self.size / side
        affine = np.array(
            [[s, 0, self.size / 2 - s * centre[0]],
             [0, s, self.size / 2 - s * centre[1]]], np.float64)
        crop = cv2.warpAffine(img, affine, (self.size, self.size),
                              flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT)
        # Pixel (i, j) spans [j, j+1): a point at x maps to s x + t.
        out = lm @ affine[:, :2].T + affine[:, 2]
        results['img'] = [np.ascontiguousarray(crop[..., ::-1])]
        results['landmarks_2d'] = out[None].astype(np.float32)
        results['landmarks_2d_visible'] = np.ones((1, 68), bool)
        results['img_shape'] = (self.size, self.size)
        results['modalities'] = ('rgb', )
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(size={self.size}, '
                f'margin={self.margin})')
