# Copyright (c) mmfer4d contributors. All rights reserved.
import os.path as osp
import sys

import pytest
import torch

from mmfer4d.models.necks import AURegionNeck
from mmfer4d.models.utils import REGION_NAMES, landmark_region_boxes

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                            'test_utils'))
from face68 import face as _face  # noqa: E402


def test_pools_what_lies_in_each_region():
    # A 96 px image's stride-8 map (12 x 12) whose value is the row index:
    # a region's pooled value is the mean row under its box.
    neck = AURegionNeck(output_size=1, sampling_ratio=4)
    rows = torch.arange(12.).view(1, 1, 12, 1).expand(2, 1, 12, 12)
    lm = torch.stack([_face(), _face(0.8, (8.0, 4.0))])
    feats, weights = neck((rows, ), lm, (96, 96))
    assert feats.shape == (2, len(REGION_NAMES), 1)
    assert torch.all(weights == 1)
    boxes, _ = landmark_region_boxes(lm, image_size=(96, 96))
    # Expected: centre row of each box in map pixels (linear field: the
    # bilinear mean over a box is the value at its centre, minus the
    # half-pixel offset of aligned=True), averaged over a region's boxes.
    centre = ((boxes[..., 1] + boxes[..., 3]) / 2) / 8 - 0.5
    brows = feats[:, REGION_NAMES.index('brows'), 0]
    assert torch.allclose(brows, centre[:, 0], atol=1e-3)
    chin = feats[:, REGION_NAMES.index('chin'), 0]
    assert torch.all(chin > brows + 4)  # chin well below the brows
    corners = feats[:, REGION_NAMES.index('mouth_corners'), 0]
    assert torch.allclose(corners, centre[:, 5:7].mean(1), atol=1e-3)


def test_hidden_box_left_out_and_shapes():
    neck = AURegionNeck(output_size=2)
    x = torch.randn(1, 8, 12, 12)
    lm = _face()[None]
    vis = torch.ones(1, 68, dtype=torch.bool)
    vis[0, 48] = False  # one mouth corner hidden: region = the other box
    full, _ = neck(x, lm, (96, 96))
    one, w = neck(x, lm, (96, 96), vis)
    assert full.shape == (1, 7, 8 * 4)
    r = REGION_NAMES.index('mouth_corners')
    assert w[0, r] == pytest.approx(0.5)
    assert not torch.allclose(one[0, r], full[0, r])
    other = neck.feature_channels(8)
    assert other == 32
    with pytest.raises(ValueError, match='feature maps'):
        neck(torch.randn(1, 5, 8), lm, (96, 96))
    with pytest.raises(ValueError, match='landmark sets'):
        neck(x, torch.cat([lm, lm]), (96, 96))
