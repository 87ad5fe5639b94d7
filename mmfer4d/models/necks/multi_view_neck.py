# Copyright (c) mmfer4d contributors. All rights reserved.
"""Pooling of any zoo backbone's output into one vector per view."""
from typing import Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmfer4d.registry import MODELS


@MODELS.register_module()
class MultiViewNeck(BaseModule):
    """Turn a backbone's output on ``(N*V, C, H, W)`` into ``(N, V, D_v)``.

    Accepts what mmpretrain backbones return, a tuple of stage outputs (the
    one at ``index`` is used) or a tensor:

    - feature maps ``(B, C, h, w)`` (ResNet, Swin, ConvNeXt without GAP,
      ViT ``out_type='featmap'``): global average pooling, or, with
      ``spatial_grid=g``, average pooling to a ``g x g`` grid flattened to
      ``C * g * g`` features, which keeps where on an aligned face a
      feature lies (brows or mouth corners) instead of only whether it is
      there;
    - tokens ``(B, L, C)`` (ViT ``out_type='raw'``): mean over the tokens,
      or the first token with ``token_pool='first'``;
    - vectors ``(B, C)`` (ViT ``out_type='cls_token'`` /
      ``'avg_featmap'``, ConvNeXt ``gap_before_final_norm``): as they are.

    Args:
        index (int): Which stage output to use when the backbone returns a
            tuple. Defaults to -1 (the last).
        token_pool (str): ``'mean'`` or ``'first'`` for token sequences.
            Defaults to ``'mean'``.
        spatial_grid (int, optional): Pool feature maps to this grid and
            flatten instead of global pooling. Defaults to None (global).
        init_cfg (dict, optional): Initialisation config. Defaults to None.

    Raises:
        ValueError: For an unknown ``token_pool`` or a ``spatial_grid``
            below 1; in forward, for outputs of
            another rank or a batch not divisible by ``num_views``.
    """

    def __init__(self,
                 index: int = -1,
                 token_pool: str = 'mean',
                 spatial_grid: Optional[int] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if token_pool not in ('mean', 'first'):
            raise ValueError(
                f"token_pool must be 'mean' or 'first', got {token_pool!r}")
        if spatial_grid is not None and spatial_grid < 1:
            raise ValueError(
                f'spatial_grid must be a positive int, got {spatial_grid}')
        self.index = index
        self.token_pool = token_pool
        self.spatial_grid = spatial_grid

    def pool(self, x: Union[torch.Tensor,
                            Sequence[torch.Tensor]]) -> torch.Tensor:
        """Pool a backbone output into vectors ``(B, C)``."""
        if isinstance(x, (tuple, list)):
            if len(x) == 0:
                raise ValueError('MultiViewNeck got an empty backbone output')
            x = x[self.index]
        if isinstance(x, (tuple, list)):
            # e.g. old ViT outputs (patch_tokens, cls_token): take cls token.
            x = x[-1]
        if x.dim() == 4:
            if self.spatial_grid is None:
                return x.mean(dim=(2, 3))
            return F.adaptive_avg_pool2d(x, self.spatial_grid).flatten(1)
        if x.dim() == 3:
            return x[:, 0] if self.token_pool == 'first' else x.mean(dim=1)
        if x.dim() == 2:
            return x
        raise ValueError('MultiViewNeck expects feature maps (B, C, h, w), '
                         'tokens (B, L, C) or vectors (B, C), got shape '
                         f'{tuple(x.shape)}')

    def forward(self,
                x: Union[torch.Tensor, Sequence[torch.Tensor]],
                num_views: Optional[int] = None) -> torch.Tensor:
        """Pool and regroup by view.

        Args:
            x (Tensor | Sequence[Tensor]): Backbone output for ``B = N * V``
                images ordered sample-major (all views of sample 0 first).
            num_views (int, optional): ``V``. If None, returns ``(B, C)``.

        Returns:
            torch.Tensor: ``(N, V, C)``, or ``(B, C)`` without ``num_views``.
        """
        feats = self.pool(x)
        if num_views is None:
            return feats
        b = feats.shape[0]
        if b % num_views != 0:
            raise ValueError(f'batch of {b} images is not divisible by '
                             f'num_views={num_views}')
        return feats.view(b // num_views, num_views, -1)
