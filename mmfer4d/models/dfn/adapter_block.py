# Copyright (c) mmfer4d contributors. All rights reserved.
"""The side network's adapter block and gated fusion (IISAN pattern)."""
from typing import Optional

import torch
from mmengine.model import BaseModule
from torch import nn
from torch.nn import functional as F

from mmfer4d.registry import MODELS


def _to_channels_last(x: torch.Tensor, channel_dim: int) -> torch.Tensor:
    if channel_dim in (-1, x.dim() - 1):
        return x
    return x.movedim(channel_dim, -1)


def _from_channels_last(x: torch.Tensor, channel_dim: int) -> torch.Tensor:
    if channel_dim in (-1, x.dim() - 1):
        return x
    return x.movedim(-1, channel_dim)


def channel_dim_of(x: torch.Tensor) -> int:
    """The channel axis of a hidden state: 1 for feature maps
    ``(B, C, h, w)``, the last for tokens ``(B, L, C)`` and vectors
    ``(B, C)``."""
    return 1 if x.dim() == 4 else -1


@MODELS.register_module()
class AdapterBlock(BaseModule):
    """Bottleneck adapter: ``x + up(act(down(x)))`` over the channel axis.

    From IISAN (Fu et al., SIGIR 2024, arXiv 2404.02059, its public
    ``AdapterBlock``): a linear down-projection to ``down_channels`` (64
    there), an activation (GELU), a linear up-projection back to the width
    and a residual connection; both projections start from ``N(0, 1e-2)``
    weights and zero biases, so a fresh block is close to the identity.
    Works on feature maps ``(B, C, h, w)`` (the projections act per
    position, like 1 x 1 convolutions), tokens ``(B, L, C)`` and vectors
    ``(B, C)``.

    Args:
        channels (int): Width ``C`` of the input and output.
        down_channels (int): Bottleneck width. Defaults to 64 (IISAN).
        act_cfg (dict): Activation. Defaults to ``dict(type='GELU')``
            (IISAN's default ``adapter_activation``).
        init_std (float): Std of the initial projection weights. Defaults
            to 1e-2 (IISAN).
        dropout (float): Dropout on the up-projection's output (our
            addition; IISAN builds one and does not use it). Defaults to 0.
        kernel_size (int): For feature maps only: a depthwise
            ``k x k`` convolution in the bottleneck after the activation,
            so the side network can mix neighbouring positions (our
            addition for CNN backbones; IISAN's token adapters act per
            token). Defaults to 1 (none, as IISAN). Token and vector inputs
            ignore it.
        init_cfg (dict, optional): Defaults to None.

    Raises:
        ValueError: If ``channels`` or ``down_channels`` is below 1.
    """

    def __init__(self,
                 channels: int,
                 down_channels: int = 64,
                 act_cfg: dict = dict(type='GELU'),
                 init_std: float = 1e-2,
                 dropout: float = 0.0,
                 kernel_size: int = 1,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError('AdapterBlock kernel_size must be a positive '
                             f'odd number, got {kernel_size}')
        if channels < 1 or down_channels < 1:
            raise ValueError('AdapterBlock needs channels >= 1 and '
                             f'down_channels >= 1, got {channels}, '
                             f'{down_channels}')
        self.channels = int(channels)
        self.down = nn.Linear(channels, down_channels)
        self.act = MODELS.build(act_cfg)
        self.up = nn.Linear(down_channels, channels)
        self.dropout = nn.Dropout(dropout)
        self.spatial = None
        if kernel_size > 1:
            # Starts as the identity, so a fresh block is unchanged.
            self.spatial = nn.Conv2d(
                down_channels, down_channels, kernel_size,
                padding=kernel_size // 2, groups=down_channels)
            nn.init.zeros_(self.spatial.weight)
            nn.init.zeros_(self.spatial.bias)
            with torch.no_grad():
                self.spatial.weight[:, 0, kernel_size // 2,
                                    kernel_size // 2] = 1.0
        for fc in (self.down, self.up):
            nn.init.normal_(fc.weight, std=init_std)
            nn.init.zeros_(fc.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args:
            x (torch.Tensor): ``(B, C, h, w)``, ``(B, L, C)`` or ``(B, C)``.

        Returns:
            torch.Tensor: Same shape as ``x``.

        Raises:
            ValueError: If the channel axis is not ``C`` wide.
        """
        dim = channel_dim_of(x)
        if x.shape[dim] != self.channels:
            raise ValueError(f'AdapterBlock of width {self.channels} got '
                             f'shape {tuple(x.shape)}')
        if x.dim() == 4:
            # The same projections as 1 x 1 convolutions: no channels-last
            # copies of the map are made (and kept for backward).
            h = F.conv2d(x, self.down.weight[:, :, None, None],
                         self.down.bias)
            h = self.act(h)
            if self.spatial is not None:
                h = self.spatial(h)
            h = F.conv2d(h, self.up.weight[:, :, None, None], self.up.bias)
            return x + self.dropout(h)
        h = _to_channels_last(x, dim)
        h = self.dropout(self.up(self.act(self.down(h))))
        return x + _from_channels_last(h, dim)


@MODELS.register_module()
class GatedFusion(BaseModule):
    """Learned scalar gate between a backbone hidden state and the side
    state: ``g * hidden + (1 - g) * side`` with ``g = sigmoid(p / tau)``.

    From IISAN's gated fusion (arXiv 2404.02059, Sec. 3; its code): one
    scalar ``p`` per side step, initialised to 0 (so ``g = 0.5``), and the
    temperature ``tau = 0.1``, which makes the gate move ten times faster
    than ``p``.

    Args:
        init_value (float): Initial ``p``. Defaults to 0.
        temperature (float): ``tau``. Defaults to 0.1.
        init_cfg (dict, optional): Defaults to None.

    Raises:
        ValueError: If ``temperature`` is not positive.
    """

    def __init__(self,
                 init_value: float = 0.0,
                 temperature: float = 0.1,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if temperature <= 0:
            raise ValueError(
                f'GatedFusion temperature must be > 0, got {temperature}')
        self.temperature = float(temperature)
        self.gate_param = nn.Parameter(torch.full((1, ), float(init_value)))

    @property
    def gate(self) -> torch.Tensor:
        """The current gate ``g`` ``(1,)`` in (0, 1)."""
        return torch.sigmoid(self.gate_param / self.temperature)

    def forward(self, hidden: torch.Tensor,
                side: torch.Tensor) -> torch.Tensor:
        """Args:
            hidden (torch.Tensor): The backbone's hidden state.
            side (torch.Tensor): The side state, same shape.

        Returns:
            torch.Tensor: The fused state, same shape.
        """
        g = self.gate
        return g * hidden + (1 - g) * side
