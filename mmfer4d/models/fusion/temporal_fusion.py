# Copyright (c) mmfer4d contributors. All rights reserved.
"""Fusion of per-frame embeddings of a sequence, ``(N, T, D)`` → ``(N, D)``.

Used by SMILE-VLM on 4D inputs ``(N, T, V, ...)`` before or after the view
fusion (``temporal_fusion_order`` of :class:`SMILEVLM`).
"""
import math
from typing import Optional

import torch
from mmengine.model import BaseModule
from torch import nn

from mmfer4d.registry import MODELS


def _check_frames(x: torch.Tensor, name: str) -> None:
    if x.dim() != 3:
        raise ValueError(f'{name} expects frame embeddings of shape '
                         f'``(N, T, D)``, got {tuple(x.shape)}')


@MODELS.register_module()
class MeanTemporalFusion(BaseModule):
    """Average over the frames."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Fuse ``x`` ``(N, T, D)`` into ``(N, D)``.

        Raises:
            ValueError: If ``x`` is not 3-dimensional.
        """
        _check_frames(x, type(self).__name__)
        return x.mean(dim=1)


@MODELS.register_module()
class AttentionTemporalFusion(BaseModule):
    """Attention pooling over the frames with a learnable query.

    ``a = softmax_t(q · W_k x_t / sqrt(D_k))``, output ``sum_t a_t x_t``.

    Args:
        embed_dims (int): Embedding size ``D``.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self, embed_dims: int, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.key = nn.Linear(embed_dims, embed_dims)
        self.query = nn.Parameter(
            torch.randn(embed_dims) / math.sqrt(embed_dims))
        self.scale = 1.0 / math.sqrt(embed_dims)
        self.last_weights: Optional[torch.Tensor] = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Fuse ``x`` ``(N, T, D)`` into ``(N, D)``; keeps the weights
        ``(N, T)`` in ``last_weights``."""
        _check_frames(x, type(self).__name__)
        weights = (self.key(x) @ self.query * self.scale).softmax(dim=1)
        self.last_weights = weights.detach()
        return torch.einsum('nt,ntd->nd', weights, x)


@MODELS.register_module()
class TransformerTemporalFusion(BaseModule):
    """A small transformer encoder over the frames, then mean pooling.

    Learnable frame-position embeddings (up to ``max_frames``) are added
    before the encoder; the output is the mean of the encoded frames plus
    the mean of the inputs (a residual, so a freshly initialised fusion
    starts near :class:`MeanTemporalFusion`).

    Args:
        embed_dims (int): Embedding size ``D``.
        num_layers (int): Encoder layers. Defaults to 1.
        num_heads (int): Attention heads; must divide ``embed_dims``.
            Defaults to 4.
        ffn_ratio (float): Hidden size of the feed-forward layers over
            ``embed_dims``. Defaults to 2.0.
        max_frames (int): Longest sequence ``T``. Defaults to 64.
        dropout (float): Dropout in the encoder. Defaults to 0.0.
        init_cfg (dict, optional): Initialisation config. Defaults to None.

    Raises:
        ValueError: If ``num_heads`` does not divide ``embed_dims``, or in
            forward if ``T > max_frames``.
    """

    def __init__(self,
                 embed_dims: int,
                 num_layers: int = 1,
                 num_heads: int = 4,
                 ffn_ratio: float = 2.0,
                 max_frames: int = 64,
                 dropout: float = 0.0,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if embed_dims % num_heads != 0:
            raise ValueError(f'num_heads={num_heads} must divide '
                             f'embed_dims={embed_dims}')
        self.max_frames = max_frames
        self.pos_embed = nn.Parameter(torch.zeros(max_frames, embed_dims))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        layer = nn.TransformerEncoderLayer(
            d_model=embed_dims,
            nhead=num_heads,
            dim_feedforward=int(embed_dims * ffn_ratio),
            dropout=dropout,
            batch_first=True,
            norm_first=True)
        self.encoder = nn.TransformerEncoder(
            layer, num_layers=num_layers, enable_nested_tensor=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Fuse ``x`` ``(N, T, D)`` into ``(N, D)``."""
        _check_frames(x, type(self).__name__)
        t = x.shape[1]
        if t > self.max_frames:
            raise ValueError(f'TransformerTemporalFusion got {t} frames but '
                             f'max_frames={self.max_frames}')
        h = self.encoder(x + self.pos_embed[:t])
        return h.mean(dim=1) + x.mean(dim=1)


@MODELS.register_module()
class DifferenceTemporalFusion(BaseModule):
    """The apex frames' embedding minus the neutral references'.

    For frames chosen by ``SampleFrames(mode='key_frames')`` (onset, apex
    window, offset), ``out = mean_{t in apex} x_t - mean_{t in ref} x_t``
    where ``ref`` is the first frame (``reference='onset'``) or the first
    and last (``reference='onset_offset'``, ``T >= 3``) and ``apex`` the
    frames between them. The references are the same subject's own neutral
    face, so what the subject's shape puts into every frame's embedding
    cancels to first order and what is left is the movement: the idea of
    apex-minus-onset features in micro-expression recognition (e.g. the
    onset-apex optical flow of Liong et al., "Less is more:
    micro-expression recognition from video using apex frame", Signal
    Process. Image Commun. 2018). The fusion has no parameters.

    Args:
        reference (str): ``'onset'`` or ``'onset_offset'``. Defaults to
            ``'onset_offset'``.
        init_cfg (dict, optional): Initialisation config. Defaults to None.

    Raises:
        ValueError: On an unknown ``reference``; in forward if ``x`` is not
            ``(N, T, D)`` or ``T`` leaves no apex frame (``T < 2``, or
            ``T < 3`` with ``'onset_offset'``).
    """

    REFERENCES = ('onset', 'onset_offset')

    def __init__(self,
                 reference: str = 'onset_offset',
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if reference not in self.REFERENCES:
            raise ValueError(f'reference must be one of {self.REFERENCES}, '
                             f'got {reference!r}')
        self.reference = reference

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Fuse ``x`` ``(N, T, D)`` (onset, apex..., [offset]) into
        ``(N, D)``."""
        _check_frames(x, type(self).__name__)
        t = x.shape[1]
        if self.reference == 'onset':
            if t < 2:
                raise ValueError('DifferenceTemporalFusion(reference='
                                 f"'onset') needs T >= 2 frames, got {t}")
            return x[:, 1:].mean(dim=1) - x[:, 0]
        if t < 3:
            raise ValueError("DifferenceTemporalFusion(reference="
                             f"'onset_offset') needs T >= 3 frames, got {t}")
        ref = (x[:, 0] + x[:, -1]) / 2
        return x[:, 1:-1].mean(dim=1) - ref
