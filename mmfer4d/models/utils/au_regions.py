# Copyright (c) mmfer4d contributors. All rights reserved.
"""Facial regions that Action Units act on, and their boxes from the 68
landmarks.

MF² (Zheng et al., arXiv 2504.10351) models the face "at a local level and
a global level"; only its abstract is public, so which regions it pools is
not known. The regions here follow the FACS manual's description of where
each AU's appearance changes are seen (Ekman, Friesen, Hager, *FACS: The
Manual*, 2002) and the region-of-interest layouts of landmark-based AU
detectors (Li et al., "EAC-Net", IEEE TPAMI 2018; Shao et al., "JAA-Net",
ECCV 2018), on the Multi-PIE / iBUG 68-landmark layout (0-16 jaw, 17-21
and 22-26 the brows, 27-35 the nose, 36-41 and 42-47 the eyes, 48-59 the
outer and 60-67 the inner lip contour):

=================  ======================================  ==============
region             boxes (landmarks; grown by IOD fractions) AUs served
=================  ======================================  ==============
``brows``          both brows, 17-26, grown up             1, 2, 4
``eyes``           both eyes, 36-47                        5, 6, 7, 43, 45
``cheeks``         right (1-3, 31, 39-41) and left         6, 9, 10, 12,
                   (13-15, 35, 42, 46, 47), below the eyes 14
``nose``           27-35                                   9, 10
``mouth_corners``  around 48 and around 54 (two boxes)     12, 14, 15, 20
``lips``           48-67                                   10, 16, 23, 24,
                                                           25, 26, 27
``chin``           5-11 and 57, grown down                 15, 17, 26, 27
=================  ======================================  ==============

(IOD: inter-ocular distance, between the two eye centres.) A region with
two boxes (cheeks, mouth corners) is pooled as the mean of both. Every
AU of :data:`mmfer4d.synthesis.AU_NAMES` and of the BP4D / DISFA AU sets
is served by at least one region.
"""
from typing import Dict, Optional, Sequence, Tuple

import torch

#: Region -> AUs whose appearance changes are seen in it.
AU_REGIONS: Dict[str, Tuple[str, ...]] = {
    'brows': ('AU1', 'AU2', 'AU4'),
    'eyes': ('AU5', 'AU6', 'AU7', 'AU43', 'AU45'),
    'cheeks': ('AU6', 'AU9', 'AU10', 'AU12', 'AU14'),
    'nose': ('AU9', 'AU10'),
    'mouth_corners': ('AU12', 'AU14', 'AU15', 'AU20'),
    'lips': ('AU10', 'AU16', 'AU23', 'AU24', 'AU25', 'AU26', 'AU27'),
    'chin': ('AU15', 'AU17', 'AU26', 'AU27'),
}

#: Region names in pooling order.
REGION_NAMES: Tuple[str, ...] = tuple(AU_REGIONS)

# Region -> boxes; a box is (landmark indices, grow (left, top, right,
# bottom) in inter-ocular distances). x grows to the right of the image,
# y down.
_BOXES: Dict[str, Tuple[Tuple[Tuple[int, ...], Tuple[float, ...]], ...]] = {
    'brows': ((tuple(range(17, 27)), (0.1, 0.3, 0.1, 0.1)), ),
    'eyes': ((tuple(range(36, 48)), (0.15, 0.15, 0.15, 0.15)), ),
    'cheeks': (((1, 2, 3, 31, 39, 40, 41), (0.0, -0.05, 0.0, 0.0)),
               ((13, 14, 15, 35, 42, 46, 47), (0.0, -0.05, 0.0, 0.0))),
    'nose': ((tuple(range(27, 36)), (0.1, 0.0, 0.1, 0.05)), ),
    'mouth_corners': (((48, ), (0.25, 0.25, 0.25, 0.25)),
                      ((54, ), (0.25, 0.25, 0.25, 0.25))),
    'lips': ((tuple(range(48, 68)), (0.1, 0.1, 0.1, 0.1)), ),
    'chin': (((5, 6, 7, 8, 9, 10, 11, 57), (0.05, 0.0, 0.05, 0.1)), ),
}

#: Number of landmarks the boxes are defined on (Multi-PIE / iBUG 68).
NUM_LANDMARKS = 68


def region_box_layout() -> Tuple[Tuple[str, int], ...]:
    """``(region, box index within the region)`` of every box, in the
    order of :func:`landmark_region_boxes`'s ``K`` axis."""
    return tuple((name, i) for name in REGION_NAMES
                 for i in range(len(_BOXES[name])))


def aus_of_region(region: str,
                  au_names: Sequence[str]) -> Tuple[int, ...]:
    """Indices into ``au_names`` of the AUs that ``region`` serves."""
    if region not in AU_REGIONS:
        raise KeyError(f'unknown AU region {region!r}; known: '
                       f'{REGION_NAMES}')
    served = set(AU_REGIONS[region])
    return tuple(i for i, name in enumerate(au_names) if name in served)


def regions_of_au(au: str) -> Tuple[str, ...]:
    """Regions serving ``au`` (e.g. ``'AU12'``); empty if none."""
    return tuple(r for r in REGION_NAMES if au in AU_REGIONS[r])


def landmark_region_boxes(
        landmarks: torch.Tensor,
        visible: Optional[torch.Tensor] = None,
        image_size: Optional[Tuple[int, int]] = None,
        min_size: float = 2.0) -> Tuple[torch.Tensor, torch.Tensor]:
    """Boxes of the AU regions from 68 landmarks per image.

    Every box is the bounding box of its landmarks grown by fractions of
    the inter-ocular distance (see the module table), at least
    ``min_size`` pixels wide and high, clipped to the image. Occluded
    landmarks still give their projected position (a 45-degree view
    projects the far cheek near where it lies behind the nose), so boxes
    use all of them; ``visible`` only sets each box's weight.

    Args:
        landmarks (torch.Tensor): ``(B, 68, 2)`` pixel coordinates (x
            right, y down) of ``B`` images.
        visible (torch.Tensor, optional): ``(B, 68)`` bool. Defaults to
            None (all visible).
        image_size (tuple[int, int], optional): ``(H, W)`` to clip to.
            Defaults to None (no clipping).
        min_size (float): Smallest box side, pixels. Defaults to 2.0.

    Returns:
        tuple[Tensor, Tensor]: boxes ``(B, K, 4)`` as ``(x1, y1, x2, y2)``
        pixels, ``K`` boxes in :func:`region_box_layout` order; weights
        ``(B, K)``, the fraction of a box's landmarks that are visible.

    Raises:
        ValueError: If ``landmarks`` is not ``(B, 68, 2)``, is not finite,
            or ``visible`` has another shape.
    """
    if landmarks.dim() != 3 or landmarks.shape[1:] != (NUM_LANDMARKS, 2):
        raise ValueError('AU region boxes need landmarks (B, 68, 2) in the '
                         'Multi-PIE / iBUG 68-point layout, got '
                         f'{tuple(landmarks.shape)}')
    if not torch.isfinite(landmarks).all():
        raise ValueError('AU region boxes: landmarks are not finite')
    lm = landmarks.float()
    if visible is None:
        vis = torch.ones(lm.shape[:2], dtype=torch.bool, device=lm.device)
    else:
        if tuple(visible.shape) != tuple(lm.shape[:2]):
            raise ValueError(f'landmark visibility {tuple(visible.shape)} '
                             f'does not match landmarks {tuple(lm.shape)}')
        vis = visible.bool()
    iod = (lm[:, 36:42].mean(1) - lm[:, 42:48].mean(1)).norm(dim=-1)
    iod = iod.clamp(min=1.0)[:, None]  # (B, 1)
    boxes, weights = [], []
    for name in REGION_NAMES:
        for idx, grow in _BOXES[name]:
            pts = lm[:, list(idx)]  # (B, k, 2)
            lo = pts.min(1).values
            hi = pts.max(1).values
            x1 = lo[:, 0:1] - grow[0] * iod
            y1 = lo[:, 1:2] - grow[1] * iod
            x2 = hi[:, 0:1] + grow[2] * iod
            y2 = hi[:, 1:2] + grow[3] * iod
            # A box of a single landmark (a mouth corner) has no extent of
            # its own; min_size keeps every box poolable.
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            hw = ((x2 - x1) / 2).clamp(min=min_size / 2)
            hh = ((y2 - y1) / 2).clamp(min=min_size / 2)
            boxes.append(torch.cat([cx - hw, cy - hh, cx + hw, cy + hh], 1))
            weights.append(vis[:, list(idx)].float().mean(1))
    boxes = torch.stack(boxes, 1)  # (B, K, 4)
    if image_size is not None:
        h, w = image_size
        boxes = torch.stack([
            boxes[..., 0].clamp(0, w - min_size),
            boxes[..., 1].clamp(0, h - min_size),
            boxes[..., 2].clamp(min_size, w),
            boxes[..., 3].clamp(min_size, h)
        ], -1)
        boxes[..., 2] = torch.maximum(boxes[..., 2], boxes[..., 0] + min_size)
        boxes[..., 3] = torch.maximum(boxes[..., 3], boxes[..., 1] + min_size)
    return boxes, torch.stack(weights, 1)
