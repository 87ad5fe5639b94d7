# Copyright (c) mmfer4d contributors. All rights reserved.
"""MLP projector from backbone features into the joint space."""
from typing import Optional

import torch
from mmengine.model import BaseModule
from torch import nn

from mmfer4d.registry import MODELS


@MODELS.register_module()
class MultiViewProjectionHead(BaseModule):
    """MLP applied to every view: ``(N, V, D_v)`` → ``(N, V, D)``.

    ``num_layers`` linear layers; every hidden layer is followed by a
    normalisation and ReLU (the Barlow Twins projector, Zbontar et al. 2021).
    The views of a batch are normalised together (BN over ``N * V``).

    Args:
        in_channels (int, optional): ``D_v``. None lets :class:`SMILEVLM`
            infer it from the backbone. Defaults to None.
        out_channels (int): ``D``, the joint-space size. Defaults to 512.
        hid_channels (int): Hidden size. Defaults to 1024.
        num_layers (int): Number of linear layers (1 = a linear map).
            Defaults to 2.
        norm (str | None): ``'BN'``, ``'LN'`` or None for the hidden layers.
            Defaults to ``'BN'``.
        init_cfg (dict, optional): Initialisation config. Defaults to None.

    Raises:
        ValueError: For ``num_layers < 1``, an unknown ``norm``, or a
            missing ``in_channels`` at build time.
    """

    def __init__(self,
                 in_channels: Optional[int] = None,
                 out_channels: int = 512,
                 hid_channels: int = 1024,
                 num_layers: int = 2,
                 norm: Optional[str] = 'BN',
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if in_channels is None:
            raise ValueError('MultiViewProjectionHead needs in_channels (the '
                             'SMILEVLM algorithm fills it in from the '
                             'backbone when left out of its config)')
        if num_layers < 1:
            raise ValueError(f'num_layers must be >= 1, got {num_layers}')
        if norm not in ('BN', 'LN', None):
            raise ValueError(f"norm must be 'BN', 'LN' or None, got {norm!r}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        layers = []
        dims = [in_channels] + [hid_channels] * (num_layers - 1)
        for i in range(num_layers - 1):
            layers.append(nn.Linear(dims[i], dims[i + 1], bias=norm is None))
            if norm == 'BN':
                layers.append(nn.BatchNorm1d(dims[i + 1]))
            elif norm == 'LN':
                layers.append(nn.LayerNorm(dims[i + 1]))
            layers.append(nn.ReLU(inplace=True))
        layers.append(nn.Linear(dims[-1], out_channels))
        self.mlp = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Project ``x`` ``(..., D_v)`` (e.g. ``(N, V, D_v)``) to
        ``(..., D)``."""
        lead = x.shape[:-1]
        return self.mlp(x.reshape(-1, x.shape[-1])).view(*lead, -1)
