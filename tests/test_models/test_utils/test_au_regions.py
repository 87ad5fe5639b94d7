# Copyright (c) mmfer4d contributors. All rights reserved.
import os.path as osp
import sys

import pytest
import torch

from mmfer4d.models.utils import (AU_REGIONS, REGION_NAMES, aus_of_region,
                                  landmark_region_boxes, region_box_layout,
                                  regions_of_au)

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from face68 import face as _face  # noqa: E402


def test_table_and_lookups():
    assert REGION_NAMES == ('brows', 'eyes', 'cheeks', 'nose',
                            'mouth_corners', 'lips', 'chin')
    assert regions_of_au('AU12') == ('cheeks', 'mouth_corners')
    assert regions_of_au('AU99') == ()
    names = ('AU1', 'AU12', 'AU17')
    assert aus_of_region('brows', names) == (0, )
    assert aus_of_region('chin', names) == (2, )
    with pytest.raises(KeyError, match='forehead'):
        aus_of_region('forehead', names)
    layout = region_box_layout()
    assert len(layout) == 9  # two cheeks and two mouth corners
    assert [r for r, _ in layout].count('cheeks') == 2


def test_boxes_cover_their_landmarks_and_follow_the_face():
    lm = _face()[None]
    boxes, weights = landmark_region_boxes(lm)
    layout = region_box_layout()
    assert boxes.shape == (1, 9, 4) and weights.shape == (1, 9)
    assert torch.all(weights == 1)
    brows = boxes[0, layout.index(('brows', 0))]
    # Brows 22..78 x 30, IOD = 36 px: grown 3.6 px sideways, 10.8 up.
    iod = 36.0
    assert torch.allclose(
        brows, torch.tensor([22 - .1 * iod, 30 - .3 * iod, 78 + .1 * iod,
                             30 + .1 * iod]), atol=1e-4)
    corner = boxes[0, layout.index(('mouth_corners', 0))]
    assert torch.allclose(corner, torch.tensor(
        [36 - 9., 75 - 9., 36 + 9., 75 + 9.]))
    chin = boxes[0, layout.index(('chin', 0))]
    assert chin[3] > 100  # grown below the chin point
    # Equivariant to scale and shift of the landmarks.
    b2, _ = landmark_region_boxes(_face(2.0, (5.0, -3.0))[None])
    shift = torch.tensor([5., -3., 5., -3.])
    assert torch.allclose(b2[0], boxes[0] * 2 + shift, atol=1e-4)


def test_visibility_clipping_and_errors():
    lm = _face()[None]
    vis = torch.ones(1, 68, dtype=torch.bool)
    vis[0, 48] = False  # right mouth corner hidden
    vis[0, 17:22] = False  # right brow hidden
    _, w = landmark_region_boxes(lm, vis)
    layout = region_box_layout()
    assert w[0, layout.index(('mouth_corners', 0))] == 0
    assert w[0, layout.index(('mouth_corners', 1))] == 1
    assert w[0, layout.index(('brows', 0))] == pytest.approx(0.5)
    boxes, _ = landmark_region_boxes(lm, image_size=(96, 96))
    assert boxes[..., 2].max() <= 96 and boxes[..., 3].max() <= 96
    assert boxes[..., :2].min() >= 0
    assert torch.all(boxes[..., 2] > boxes[..., 0])
    with pytest.raises(ValueError, match=r'\(B, 68, 2\)'):
        landmark_region_boxes(torch.zeros(1, 83, 2))
    with pytest.raises(ValueError, match='not finite'):
        landmark_region_boxes(torch.full((1, 68, 2), float('nan')))
    with pytest.raises(ValueError, match='visibility'):
        landmark_region_boxes(lm, torch.ones(1, 5, dtype=torch.bool))
    assert set(AU_REGIONS) == set(REGION_NAMES)
