# Copyright (c) mmfer4d contributors. All rights reserved.
"""The side network of the Decoupled Fine-tuning Network (DFN)."""
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn

from mmfer4d.registry import MODELS

from .adapter_block import AdapterBlock, GatedFusion, channel_dim_of


def _shape_key(x: torch.Tensor) -> tuple:
    """(kind, channels, spatial size) of a hidden state."""
    if x.dim() == 4:
        return ('map', x.shape[1], tuple(x.shape[2:]))
    if x.dim() == 3:
        return ('tokens', x.shape[2], (x.shape[1], ))
    if x.dim() == 2:
        return ('vector', x.shape[1], ())
    raise ValueError('hidden states must be feature maps (B, C, h, w), '
                     f'tokens (B, L, C) or vectors (B, C), got '
                     f'{tuple(x.shape)}')


@MODELS.register_module()
class SideNetwork(BaseModule):
    """A chain of adapter blocks beside a frozen backbone (IISAN-style).

    For the tapped hidden states ``h_1 ... h_K`` of the backbone (input to
    output order), with ``s_0 = 0``::

        f_k = g_k * h_k + (1 - g_k) * T_k(s_{k-1}),   g_k = sigmoid(p_k / tau)
        s_k = A_k(f_k)

    ``A_k`` is an :class:`AdapterBlock`, ``g_k`` a :class:`GatedFusion`
    (``p_k = 0`` at the start, so ``g_k = 0.5``), and the output is
    ``s_K``, optionally layer-normalised over channels. This is IISAN's
    intra-modal side chain (Fu et al., SIGIR 2024, arXiv 2404.02059; its
    code starts from ``s_0 = 0`` unless ``remove_first``); the DFN of MF²
    (arXiv 2504.10351) is only described in its abstract, as a decoupled
    network that adapts the frozen model at low cost, so this reading of
    it is ours.

    ``T_k`` is our addition for CNN backbones, whose stages change width
    and resolution (IISAN's towers are 768 wide throughout): the previous
    side state is average-pooled to ``h_k``'s spatial size, and its
    channels are zero-padded (``transition='pad'``, no parameters, as a
    ResNet "option A" shortcut) or linearly projected (``'linear'``, also
    used by ``'pad'`` when the width shrinks) to ``h_k``'s width. Token
    sequences keep their length (a ViT's blocks all give ``(B, L, C)``).

    Args:
        channels (Sequence[int]): Width ``C_k`` of every tapped hidden
            state.
        down_channels (int): Adapter bottleneck. Defaults to 64 (IISAN).
        cap_down_channels (bool): Never widen: a layer narrower than
            ``down_channels`` gets a bottleneck of its own width (our
            choice; a 64-wide "bottleneck" on the 16-channel first stage of
            a slim ResNet would hold 4x the map for backward). Defaults to
            True.
        act_cfg (dict): Adapter activation. Defaults to GELU (IISAN).
        init_std (float): Adapter initial weight std. Defaults to 1e-2.
        dropout (float): Adapter dropout. Defaults to 0.
        kernel_size (int): Depthwise kernel in the adapters on feature maps
            (:class:`AdapterBlock`; our addition). Defaults to 1 (none).
        gate_init (float): Initial ``p_k``. Defaults to 0 (IISAN).
        gate_temperature (float): ``tau``. Defaults to 0.1 (IISAN).
        transition (str): ``'pad'`` or ``'linear'``. Defaults to ``'pad'``.
        out_norm (bool): LayerNorm over the channels of ``s_K`` (our
            choice: the backbone's last hidden states are not normalised,
            e.g. a ViT's before its final norm). Defaults to True.
        init_cfg (dict, optional): Defaults to None.

    Raises:
        ValueError: For an empty ``channels`` or unknown ``transition``;
            in forward, for the wrong number of hidden states or widths.
    """

    def __init__(self,
                 channels: Sequence[int],
                 down_channels: int = 64,
                 cap_down_channels: bool = True,
                 act_cfg: dict = dict(type='GELU'),
                 init_std: float = 1e-2,
                 dropout: float = 0.0,
                 kernel_size: int = 1,
                 gate_init: float = 0.0,
                 gate_temperature: float = 0.1,
                 transition: str = 'pad',
                 out_norm: bool = True,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        channels = [int(c) for c in channels]
        if not channels:
            raise ValueError('SideNetwork needs at least one tapped layer')
        if transition not in ('pad', 'linear'):
            raise ValueError("transition must be 'pad' or 'linear', got "
                             f'{transition!r}')
        self.channels = tuple(channels)
        self.transition = transition
        self.adapters = nn.ModuleList([
            AdapterBlock(c, min(c, down_channels) if cap_down_channels
                         else down_channels, act_cfg, init_std, dropout,
                         kernel_size)
            for c in channels
        ])
        self.gates = nn.ModuleList([
            GatedFusion(gate_init, gate_temperature) for _ in channels
        ])
        # Width changes between consecutive taps that need parameters.
        self.projections = nn.ModuleDict()
        for k in range(1, len(channels)):
            c_in, c_out = channels[k - 1], channels[k]
            if c_in != c_out and (transition == 'linear' or c_out < c_in):
                self.projections[str(k)] = nn.Linear(c_in, c_out)
        self.out_norm = nn.LayerNorm(channels[-1]) if out_norm else None

    @property
    def out_channels(self) -> int:
        """Width of the output ``C_K``."""
        return self.channels[-1]

    def _transition(self, k: int, side: torch.Tensor,
                    like: torch.Tensor) -> torch.Tensor:
        """``T_k``: the previous side state in the shape of ``like``."""
        if side.dim() == 4 and like.dim() == 4 \
                and side.shape[2:] != like.shape[2:]:
            side = F.adaptive_avg_pool2d(side, like.shape[2:])
        elif side.dim() != like.dim() or (side.dim() == 3 and
                                          side.shape[1] != like.shape[1]):
            raise ValueError(
                f'side state {tuple(side.shape)} cannot follow into a '
                f'hidden state of shape {tuple(like.shape)}')
        dim = channel_dim_of(like)
        c_in, c_out = side.shape[dim], like.shape[dim]
        if c_in == c_out:
            return side
        if str(k) in self.projections:
            proj = self.projections[str(k)]
            return proj(side.movedim(dim, -1)).movedim(-1, dim)
        pad = [0, 0] * (side.dim() - 1 - (dim % side.dim()))
        return F.pad(side, pad + [0, c_out - c_in])

    def forward(self, hidden_states: List[torch.Tensor]) -> torch.Tensor:
        """Args:
            hidden_states (list[Tensor]): The ``K`` tapped hidden states,
                each ``(B, C_k, h_k, w_k)``, ``(B, L, C_k)`` or ``(B, C_k)``
                (batch, channels, height, width; tokens).

        Returns:
            torch.Tensor: ``s_K``, the shape of the last hidden state.
        """
        if len(hidden_states) != len(self.adapters):
            raise ValueError(f'SideNetwork has {len(self.adapters)} steps, '
                             f'got {len(hidden_states)} hidden states')
        side = None
        for k, (h, adapter, gate) in enumerate(
                zip(hidden_states, self.adapters, self.gates)):
            kind, c, _ = _shape_key(h)
            if c != self.channels[k]:
                raise ValueError(f'hidden state {k} has {c} channels, the '
                                 f'side network expects {self.channels[k]}')
            if side is None:
                # s_0 = 0: the fusion is g * h (no zero tensor kept).
                fused = gate.gate * h
            else:
                fused = gate(h, self._transition(k, side, h))
            side = adapter(fused)
        if self.out_norm is not None:
            dim = channel_dim_of(side)
            side = self.out_norm(side.movedim(dim, -1)).movedim(-1, dim)
        return side
