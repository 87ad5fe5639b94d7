# Copyright (c) mmfer4d contributors. All rights reserved.
"""Local (AU region) features pooled from a backbone's feature map."""
from typing import Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from torchvision.ops import roi_align

from mmfer4d.registry import MODELS
from ..utils.au_regions import (REGION_NAMES, landmark_region_boxes,
                                region_box_layout)


@MODELS.register_module()
class AURegionNeck(BaseModule):
    """Pool every AU region of every image with ``roi_align``.

    The local level of MF² (Zheng et al., arXiv 2504.10351; only the
    abstract is public, so the region set and pooling are our choice): the
    boxes of :func:`~mmfer4d.models.utils.au_regions.landmark_region_boxes`
    (brows, eyes, cheeks, nose, mouth corners, lips, chin) from 68
    landmarks in each image's pixel coordinates (rendered views:
    ``landmarks_2d`` of :class:`RenderMultiView`; 2D face images: their
    annotated landmarks), pooled from one stage of the backbone output by
    ``torchvision.ops.roi_align`` (He et al., "Mask R-CNN", ICCV 2017;
    ``aligned=True``, half-pixel offsets) to ``output_size x output_size``
    bins and flattened. A region with two boxes (left and right cheek or
    mouth corner) is the visibility-weighted mean of both.

    Args:
        index (int): Stage of a tuple backbone output to pool. Defaults to
            -1. A 96 px input's last ResNet stage is 3 x 3: an earlier
            stage (stride 16 or 8) keeps the regions apart.
        output_size (int): Bins per side. Defaults to 2.
        sampling_ratio (int): Samples per bin side (``roi_align``).
            Defaults to 2.
        init_cfg (dict, optional): Defaults to None.

    Raises:
        ValueError: (forward) If the feature map is not ``(B, C, h, w)``,
            the landmarks are not ``(B, 68, 2)``, or their counts differ.
    """

    def __init__(self,
                 index: int = -1,
                 output_size: int = 2,
                 sampling_ratio: int = 2,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if output_size < 1:
            raise ValueError(f'output_size must be >= 1, got {output_size}')
        self.index = index
        self.output_size = int(output_size)
        self.sampling_ratio = int(sampling_ratio)
        layout = region_box_layout()
        # (K,) region of every box.
        self.register_buffer(
            'box_region',
            torch.tensor([REGION_NAMES.index(r) for r, _ in layout]),
            persistent=False)

    @property
    def num_regions(self) -> int:
        return len(REGION_NAMES)

    def feature_channels(self, channels: int) -> int:
        """Width of a region feature for a map of ``channels``."""
        return channels * self.output_size**2

    def select(self, feat_maps: Union[torch.Tensor, Sequence[torch.Tensor]]
               ) -> torch.Tensor:
        """The pooled stage ``(B, C, h, w)`` of a backbone output."""
        x = feat_maps[self.index] if isinstance(feat_maps,
                                                (tuple, list)) else feat_maps
        if x.dim() != 4:
            raise ValueError('AURegionNeck pools feature maps (B, C, h, w), '
                             f'got {tuple(x.shape)}; for ViTs use '
                             "out_type='featmap'")
        return x

    def forward(self,
                feat_maps: Union[torch.Tensor, Sequence[torch.Tensor]],
                landmarks: torch.Tensor,
                image_size: Tuple[int, int],
                visible: Optional[torch.Tensor] = None
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Region features of ``B`` images.

        Args:
            feat_maps: Backbone output for ``B`` images (a tensor or a
                tuple of stages).
            landmarks (torch.Tensor): ``(B, 68, 2)`` pixels of the input
                images (x right, y down).
            image_size (tuple[int, int]): Input ``(H, W)``, pixels.
            visible (torch.Tensor, optional): ``(B, 68)`` bool. Defaults
                to None (all visible).

        Returns:
            tuple[Tensor, Tensor]: features ``(B, R, C * s * s)`` (``R``
            regions in :data:`REGION_NAMES` order, ``s`` the output size)
            and weights ``(B, R)`` in [0, 1], the visible share of each
            region's landmarks (0: the region is hidden in this image).
        """
        x = self.select(feat_maps)
        b = x.shape[0]
        if landmarks.shape[0] != b:
            raise ValueError(f'{landmarks.shape[0]} landmark sets for {b} '
                             'feature maps')
        boxes, box_w = landmark_region_boxes(
            landmarks.to(x.device), None if visible is None else
            visible.to(x.device), image_size)
        k = boxes.shape[1]
        scale = x.shape[-1] / float(image_size[1])
        image_idx = torch.arange(
            b, device=x.device, dtype=boxes.dtype).repeat_interleave(k)
        rois = torch.cat([image_idx[:, None], boxes.reshape(-1, 4)],
                         1).to(x.dtype)
        pooled = roi_align(x, rois, self.output_size, spatial_scale=scale,
                           sampling_ratio=self.sampling_ratio, aligned=True)
        pooled = pooled.reshape(b, k, -1)  # (B, K, C s s)
        # Mean of a region's boxes, weighted by visibility (uniform when a
        # region is hidden in all its boxes, whose weight is then 0).
        onehot = torch.zeros(k, self.num_regions, device=x.device,
                             dtype=pooled.dtype)
        onehot[torch.arange(k, device=x.device), self.box_region] = 1.0
        w = box_w.to(pooled.dtype)[:, :, None] * onehot  # (B, K, R)
        denom = w.sum(1)  # (B, R)
        uniform = onehot / onehot.sum(0, keepdim=True)
        mix = torch.where(denom[:, None, :] > 0,
                          w / denom.clamp(min=1e-6)[:, None, :],
                          uniform.expand_as(w))
        feats = torch.einsum('bkr,bkf->brf', mix, pooled)
        weights = denom / onehot.sum(0)
        return feats, weights
