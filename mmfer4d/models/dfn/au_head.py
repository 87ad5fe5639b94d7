# Copyright (c) mmfer4d contributors. All rights reserved.
"""A multi-label AU detection head (one logit per AU, BCE)."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.model import BaseModule
from mmpretrain.structures import DataSample
from torch import nn
from torch.nn import functional as F

from mmfer4d.registry import MODELS


@MODELS.register_module()
class DFNAUHead(BaseModule):
    """Linear multi-label AU head for the DFN: ``A`` logits, binary
    cross-entropy against the samples' ``gt_au``.

    Reads ``gt_au`` ``(A,)`` (0/1 per AU, as :class:`PackMultiViewInputs`
    stores it) and writes ``pred_au_score`` ``(A,)`` (sigmoid
    probabilities), the fields :class:`AUDetectionMetric` reads.

    Args:
        num_aus (int): ``A``.
        in_channels (int): Feature width.
        pos_weight (Sequence[float], optional): BCE weight of the positives
            of every AU (``(A,)``), e.g. negatives / positives for rare
            AUs. Defaults to None (1).
        loss_weight (float): Defaults to 1.
        init_cfg (dict, optional): Defaults to ``Normal(std=0.01)`` on the
            linear layer.

    Raises:
        ValueError: (in :meth:`loss`) If a sample has no ``gt_au`` or one
            of another shape than ``(A,)``.
    """

    def __init__(self,
                 num_aus: int,
                 in_channels: int,
                 pos_weight: Optional[Sequence[float]] = None,
                 loss_weight: float = 1.0,
                 init_cfg: Optional[dict] = dict(
                     type='Normal', layer='Linear', std=0.01)):
        super().__init__(init_cfg=init_cfg)
        self.num_aus = int(num_aus)
        self.fc = nn.Linear(in_channels, self.num_aus)
        self.loss_weight = float(loss_weight)
        if pos_weight is not None:
            pos_weight = torch.as_tensor(pos_weight, dtype=torch.float32)
            if pos_weight.shape != (self.num_aus, ):
                raise ValueError(f'pos_weight must have {self.num_aus} '
                                 f'values, got {tuple(pos_weight.shape)}')
        self.register_buffer('pos_weight', pos_weight, persistent=False)

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Logits ``(N, A)`` from the last of ``feats`` ``(N, C)``."""
        return self.fc(feats[-1])

    def _targets(self, data_samples: List[DataSample]) -> torch.Tensor:
        gts = []
        for i, ds in enumerate(data_samples):
            gt = ds.get('gt_au')
            if gt is None:
                raise ValueError(f'DFNAUHead: sample {i} has no gt_au')
            gt = torch.as_tensor(gt, dtype=torch.float32)
            if gt.shape != (self.num_aus, ):
                raise ValueError(f'DFNAUHead: sample {i} gt_au has shape '
                                 f'{tuple(gt.shape)}, expected '
                                 f'({self.num_aus},)')
            gts.append(gt)
        return torch.stack(gts)

    def loss(self, feats: Tuple[torch.Tensor],
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        """``loss_au``: mean BCE over samples and AUs."""
        logits = self(feats)
        target = self._targets(data_samples).to(logits.device)
        pos_weight = None if self.pos_weight is None else \
            self.pos_weight.to(logits.device)
        loss = F.binary_cross_entropy_with_logits(
            logits, target, pos_weight=pos_weight)
        return dict(loss_au=loss * self.loss_weight)

    def predict(self, feats: Tuple[torch.Tensor],
                data_samples: Optional[List[DataSample]] = None
                ) -> List[DataSample]:
        """``pred_au_score`` ``(A,)`` per sample."""
        scores = torch.sigmoid(self(feats)).detach()
        if data_samples is None:
            data_samples = [DataSample() for _ in range(scores.shape[0])]
        for ds, s in zip(data_samples, scores):
            ds.set_field(s, 'pred_au_score', field_type='data')
        return data_samples
