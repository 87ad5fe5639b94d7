# Copyright (c) mmfer4d contributors. All rights reserved.
"""Multi-label AU detection loss with unknown labels left out."""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from mmfer4d.registry import MODELS


@MODELS.register_module()
class AUBinaryCrossEntropyLoss(nn.Module):
    """Binary cross-entropy over AUs, one logit per AU.

    ``L = sum_{n,a} m_na * BCE(x_na, y_na) / sum_{n,a} m_na`` with
    ``m_na = 1[y_na >= 0]``: labels below 0 (BP4D's code 9, frames outside
    the coded segment) are unknown and left out, as
    :class:`AUDetectionMetric` leaves them out of F1. The multi-label loss
    of the AU detection literature (e.g. Zhao et al., "DRML", CVPR 2016).

    Args:
        pos_weight (Sequence[float], optional): ``(A,)`` weight of the
            positive term per AU, for rare AUs. Defaults to None (1).
        loss_weight (float): Defaults to 1.0.
    """

    def __init__(self,
                 pos_weight: Optional[Sequence[float]] = None,
                 loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = float(loss_weight)
        if pos_weight is None:
            self.pos_weight = None
        else:
            self.register_buffer(
                'pos_weight', torch.as_tensor(pos_weight,
                                              dtype=torch.float32),
                persistent=False)

    def forward(self, logits: torch.Tensor,
                labels: torch.Tensor) -> torch.Tensor:
        """Loss of logits ``(N, A)`` against labels ``(N, A)`` (1, 0 or
        negative for unknown); 0 (with gradient) when all are unknown.

        Raises:
            ValueError: If the shapes differ or ``pos_weight`` has another
                length than ``A``.
        """
        if logits.shape != labels.shape:
            raise ValueError(f'AU logits {tuple(logits.shape)} and labels '
                             f'{tuple(labels.shape)} differ')
        if self.pos_weight is not None and \
                self.pos_weight.numel() != logits.shape[-1]:
            raise ValueError(f'pos_weight has {self.pos_weight.numel()} '
                             f'entries for {logits.shape[-1]} AUs')
        mask = (labels >= 0).to(logits.dtype)
        target = (labels > 0).to(logits.dtype)
        loss = F.binary_cross_entropy_with_logits(
            logits, target, reduction='none', pos_weight=self.pos_weight)
        loss = (loss * mask).sum() / mask.sum().clamp(min=1.0)
        return self.loss_weight * loss
