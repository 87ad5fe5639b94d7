# Copyright (c) mmfer4d contributors. All rights reserved.
"""Ordinary image transforms applied to every rendered view."""
import random
from typing import List, Sequence

import numpy as np
from mmcv.transforms import BaseTransform, Compose

from mmfer4d.registry import TRANSFORMS

# Keys a view's own results dict starts with; whatever else the inner
# transforms add (flip, scale_factor, ...) is copied back when shared.
_VIEW_KEYS = ('img', 'img_shape', 'ori_shape')


@TRANSFORMS.register_module()
class MultiViewImageTransform(BaseTransform):
    """Apply image transforms to each rendered view.

    The inner pipeline is built from ``TRANSFORMS`` configs, so mmpretrain's
    and mmcv's transforms can be used. Each view is passed alone as
    ``{'img', 'img_shape', 'ori_shape'}``.

    Channels: rendered views stack modalities (depth 1, normal 3, ...), so
    ``C`` is often not 3. Geometric transforms work on any number of
    channels (``RandomFlip``, ``Resize``, ``RandomResizedCrop``,
    ``CenterCrop``, ``RandomCrop``; a single channel dropped by OpenCV is
    restored); photometric ones (``ColorJitter``, ``RandAugment``...)
    expect 3-channel RGB and only fit ``modalities=('rgb',)``.

    Random parameters: with ``share_params=True`` every view (and every
    frame) of a sample gets the same draw: the random states of numpy and
    Python are set to the same value before each view. With
    ``share_params=False`` each view gets its own draw, as multi-view
    contrastive methods want; in a sequence a view keeps its draw across
    frames, so no frame-to-frame flicker is added. The random states then
    continue from where the last view left them.

    **Required Keys:**

    - img: list of V ``(H, W, C)`` uint8 arrays, or T lists of V.

    **Modified Keys:**

    - img
    - img_shape

    **Added Keys:**

    - keys the inner transforms add (``flip``, ``scale_factor``...), taken
      from the first view, only when ``share_params=True``.

    Args:
        transforms (Sequence[dict | callable]): The image transforms.
        share_params (bool): Same random parameters for all views. Defaults
            to True.

    Raises:
        TypeError: If ``img`` is not a list of views.
        ValueError: If an inner transform drops a view (returns None) or
            the views come out with different shapes.
    """

    def __init__(self, transforms: Sequence, share_params: bool = True):
        self.pipeline = Compose([
            TRANSFORMS.build(t) if isinstance(t, dict) else t
            for t in transforms
        ])
        self.share_params = share_params

    @staticmethod
    def _is_view(x) -> bool:
        return isinstance(x, np.ndarray)

    def _run(self, img: np.ndarray) -> dict:
        h, w = img.shape[:2]
        out = self.pipeline(dict(img=img, img_shape=(h, w), ori_shape=(h, w)))
        if out is None:
            raise ValueError(f'{type(self).__name__}: an inner transform '
                             f'dropped a view ({self.pipeline})')
        new = out['img']
        if new.ndim == 2 and img.ndim == 3:
            new = new[..., None]  # OpenCV drops a single channel
        out['img'] = new
        return out

    def transform(self, results: dict) -> dict:
        imgs = results.get('img')
        if not isinstance(imgs, (list, tuple)) or not imgs:
            raise TypeError(
                f'{type(self).__name__} needs results["img"] as a list of '
                f'views, got {type(imgs).__name__}')
        is_seq = not self._is_view(imgs[0])
        frames: List[list] = [list(f) for f in imgs] if is_seq \
            else [list(imgs)]
        num_views = len(frames[0])
        outs = [[None] * num_views for _ in frames]
        first_out = None
        for v in range(num_views):
            if v == 0 or not self.share_params:
                np_state = np.random.get_state()
                py_state = random.getstate()
            for t, frame in enumerate(frames):
                np.random.set_state(np_state)
                random.setstate(py_state)
                out = self._run(frame[v])
                outs[t][v] = out['img']
                if first_out is None:
                    first_out = out
        shapes = {o.shape for frame in outs for o in frame}
        if len(shapes) > 1:
            raise ValueError(f'{type(self).__name__}: views came out with '
                             f'different shapes {sorted(shapes)}; use '
                             'transforms with a fixed output size')
        results['img'] = outs if is_seq else outs[0]
        results['img_shape'] = outs[0][0].shape[:2]
        if self.share_params:
            for key, value in first_out.items():
                if key not in _VIEW_KEYS:
                    results[key] = value
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(transforms={self.pipeline}, '
                f'share_params={self.share_params})')
