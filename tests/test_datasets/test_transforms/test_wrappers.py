# Copyright (c) mmfer4d contributors. All rights reserved.
import numpy as np
import pytest

from mmfer4d.datasets.transforms import MultiViewImageTransform
from mmfer4d.registry import TRANSFORMS


def _views(v=4, h=16, w=20, c=4, seed=0):
    rng = np.random.RandomState(seed)
    return [rng.randint(0, 256, (h, w, c), dtype=np.uint8) for _ in range(v)]


def test_shared_params_same_crop_for_all_views():
    views = _views()
    # Identical views make the per-view outputs comparable directly.
    same = [views[0].copy() for _ in range(4)]
    wrapper = TRANSFORMS.build(
        dict(
            type='MultiViewImageTransform',
            transforms=[
                dict(type='RandomResizedCrop', scale=8),
                dict(type='RandomFlip', prob=0.5)
            ]))
    np.random.seed(0)
    for _ in range(5):
        out = wrapper(dict(img=list(same)))
        imgs = out['img']
        assert len(imgs) == 4
        assert all(i.shape == (8, 8, 4) and i.dtype == np.uint8 for i in imgs)
        for img in imgs[1:]:
            np.testing.assert_array_equal(img, imgs[0])
        assert out['img_shape'] == (8, 8)
        assert 'flip' in out


def test_independent_params_differ_per_view():
    same = [_views(v=1)[0]] * 6
    wrapper = MultiViewImageTransform(
        [dict(type='RandomResizedCrop', scale=8)], share_params=False)
    np.random.seed(0)
    imgs = wrapper(dict(img=same))['img']
    assert len({img.tobytes() for img in imgs}) > 1


def test_sequence_frames_share_each_views_params():
    frame = _views(v=3)
    frames = [frame, frame]  # T=2 identical frames
    wrapper = MultiViewImageTransform(
        [dict(type='RandomResizedCrop', scale=8)], share_params=False)
    np.random.seed(1)
    out = wrapper(dict(img=frames))['img']
    assert len(out) == 2 and len(out[0]) == 3
    for v in range(3):
        np.testing.assert_array_equal(out[0][v], out[1][v])


def test_single_channel_kept():
    views = _views(c=1)
    out = MultiViewImageTransform([dict(type='Resize', scale=(10, 8))])(
        dict(img=views))
    assert all(img.shape == (8, 10, 1) for img in out['img'])


def test_errors():
    with pytest.raises(TypeError, match='list of views'):
        MultiViewImageTransform([dict(type='RandomFlip', prob=0.5)])(
            dict(img=np.zeros((4, 4, 3), np.uint8)))
