# Copyright (c) mmfer4d contributors. All rights reserved.
"""Barlow Twins redundancy reduction between visual and text embeddings."""
import torch
import torch.nn as nn

from mmfer4d.registry import MODELS
from ..utils import all_gather_cat
from .multiview_barlow_twins_loss import multiview_barlow_twins


@MODELS.register_module()
class CrossModalRedundancyLoss(nn.Module):
    """Cross-modal redundancy minimisation of SMILE-VLM (arXiv 2506.01203).

    The Barlow Twins form (Zbontar et al. 2021, eq. 1-2) across modalities:
    with ``X`` and ``T`` the visual and paired text embeddings, each
    standardised over the (global) batch, and ``C = X^T T / N``::

        L = sum_i (1 - C_ii)^2 + lambd * sum_{i != j} C_ij^2

    The diagonal term aligns each visual feature with the same text feature;
    the off-diagonal term removes redundancy between the two modalities.
    It is :func:`multiview_barlow_twins` with the two modalities as the two
    views. If every sample of the global batch has the same text (one class
    only), the text features have zero variance, ``C = 0`` and the loss is
    the constant ``D``.

    Under ``torch.distributed`` both inputs are gathered from all ranks with
    gradients, so statistics are over the global batch; with DDP's gradient
    averaging the gradients equal those of one process with the whole batch.

    Args:
        lambd (float): Weight of the off-diagonal term. Defaults to 5e-3.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        eps (float): Added to the batch variance before the square root.
            Defaults to 1e-5.
    """

    def __init__(self,
                 lambd: float = 5e-3,
                 loss_weight: float = 1.0,
                 eps: float = 1e-5) -> None:
        super().__init__()
        self.lambd = lambd
        self.loss_weight = loss_weight
        self.eps = eps

    def forward(self, visual: torch.Tensor,
                text: torch.Tensor) -> torch.Tensor:
        """Compute the loss.

        Args:
            visual (torch.Tensor): Visual embeddings ``(N, D)``.
            text (torch.Tensor): Paired text embeddings ``(N, D)``.

        Returns:
            torch.Tensor: Scalar loss, times ``loss_weight``.

        Raises:
            ValueError: If the inputs are not 2-D or their shapes differ.
        """
        name = type(self).__name__
        if visual.dim() != 2 or text.dim() != 2:
            raise ValueError(f'{name}: visual and text must be (N, D), got '
                             f'{tuple(visual.shape)} and {tuple(text.shape)}')
        if visual.shape != text.shape:
            raise ValueError(f'{name}: visual {tuple(visual.shape)} and text '
                             f'{tuple(text.shape)} must have the same shape')
        z = all_gather_cat(torch.stack([visual, text], dim=1))
        loss = multiview_barlow_twins(z, self.lambd, self.eps)
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return (f'lambd={self.lambd}, loss_weight={self.loss_weight}, '
                f'eps={self.eps}')
