# Copyright (c) mmfer4d contributors. All rights reserved.
"""Fusion of per-view embeddings into one embedding per face.

SMILE-VLM (Behzad, arXiv 2506.01203) fuses the joint-space embeddings of the
rendered views with a view-aware weighting before aligning them with text.
Every module here maps ``(N, V, D)`` (batch, views, embedding) to ``(N, D)``
and exposes the weights it used through :meth:`get_view_weights`, which the
visualisation summary plots.
"""
import math
from typing import Optional

import torch
from mmengine.model import BaseModule
from torch import nn

from mmfer4d.registry import MODELS


def _check_tokens(x: torch.Tensor, name: str) -> None:
    if x.dim() != 3:
        raise ValueError(f'{name} expects embeddings of shape ``(N, V, D)``, '
                         f'got a tensor of shape {tuple(x.shape)}')


class BaseViewFusion(BaseModule):
    """Base class of view fusions: ``(N, V, D)`` → ``(N, D)``.

    Subclasses implement :meth:`view_weights`, the non-negative weights
    ``(N, V)`` summing to one over the views; the fused embedding is the
    weighted sum of the view embeddings, so it stays in the joint space.
    """

    def __init__(self, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self._last_weights: Optional[torch.Tensor] = None

    def view_weights(self, x: torch.Tensor) -> torch.Tensor:
        """Weights ``(N, V)`` of the views of ``x`` ``(N, V, D)``."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Fuse the views.

        Args:
            x (torch.Tensor): View embeddings ``(N, V, D)``.

        Returns:
            torch.Tensor: Fused embeddings ``(N, D)``.

        Raises:
            ValueError: If ``x`` is not 3-dimensional.
        """
        _check_tokens(x, type(self).__name__)
        weights = self.view_weights(x)
        self._last_weights = weights.detach()
        return torch.einsum('nv,nvd->nd', weights, x)

    def get_view_weights(self) -> Optional[torch.Tensor]:
        """Weights ``(V,)`` used in the last forward, averaged over the batch.

        Returns:
            torch.Tensor | None: Detached weights summing to one, or None
            before the first forward.
        """
        if self._last_weights is None:
            return None
        return self._last_weights.mean(dim=0)


@MODELS.register_module()
class MeanViewFusion(BaseViewFusion):
    """Average of the views (equal weights ``1 / V``)."""

    def view_weights(self, x: torch.Tensor) -> torch.Tensor:
        n, v, _ = x.shape
        return x.new_full((n, v), 1.0 / v)


@MODELS.register_module()
class LearnableViewWeightFusion(BaseViewFusion):
    """Softmax over learnable per-view weights.

    ``w = softmax(a)`` with one learnable logit ``a_v`` per view, initialised
    to zero (equal weights), shared by all samples.

    Args:
        num_views (int): Number of views ``V`` the model sees.
        init_cfg (dict, optional): Initialisation config. Defaults to None.

    Raises:
        ValueError: In forward, if the input has another number of views.
    """

    def __init__(self, num_views: int, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if num_views < 1:
            raise ValueError(f'num_views must be >= 1, got {num_views}')
        self.num_views = num_views
        self.view_logits = nn.Parameter(torch.zeros(num_views))

    def view_weights(self, x: torch.Tensor) -> torch.Tensor:
        n, v, _ = x.shape
        if v != self.num_views:
            raise ValueError(
                f'LearnableViewWeightFusion was built for {self.num_views} '
                f'views but got {v} (set `num_views` in the fusion config)')
        return self.view_logits.softmax(dim=0).unsqueeze(0).expand(n, v)

    def get_view_weights(self) -> torch.Tensor:
        """Current softmax weights ``(V,)`` (available before any forward)."""
        return self.view_logits.detach().softmax(dim=0)


@MODELS.register_module()
class AttentionViewFusion(BaseViewFusion):
    """Attention pooling over the view tokens with a learnable query.

    ``a = softmax_v(q · W_k x_v / sqrt(D_k))`` and the fused embedding is
    ``sum_v a_v x_v``; the values are the view embeddings themselves, so the
    fused embedding stays in the joint vision-language space.

    Args:
        embed_dims (int): Embedding size ``D``.
        key_dims (int, optional): Size of the keys. Defaults to
            ``embed_dims``.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 embed_dims: int,
                 key_dims: Optional[int] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        key_dims = key_dims or embed_dims
        self.key = nn.Linear(embed_dims, key_dims)
        self.query = nn.Parameter(torch.randn(key_dims) / math.sqrt(key_dims))
        self.scale = 1.0 / math.sqrt(key_dims)

    def view_weights(self, x: torch.Tensor) -> torch.Tensor:
        scores = self.key(x) @ self.query * self.scale  # (N, V)
        return scores.softmax(dim=1)
