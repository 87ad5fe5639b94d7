# Copyright (c) mmfer4d contributors. All rights reserved.
"""A classification head on the fused multi-view embedding."""
from typing import Dict, List, Optional, Union

import torch
from mmpretrain.structures import DataSample
from torch import nn

from mmfer4d.registry import MODELS
from .base_multi_view_model import BaseMultiViewModel


@MODELS.register_module()
class MultiViewClassifier(BaseMultiViewModel):
    """Multi-view classifier: a zoo head on the fused embedding.

    The multi-view counterpart of mmpretrain's ``ImageClassifier``: the
    vision side of :class:`BaseMultiViewModel` gives the fused embedding
    ``(N, D)`` of every face, and ``head`` (``LinearClsHead`` or any
    mmpretrain classification head) owns the loss and the prediction. The
    three uses:

    - **supervised baseline**: everything trained from scratch with the
      head's cross-entropy;
    - **fine-tuning** of a pre-trained model (e.g. SMILE-VLM): ``init_cfg``
      points at its checkpoint, everything trains;
    - **linear probe**: the same with ``freeze=True``; only the head
      trains, the rest stays in eval mode (frozen BN statistics).

    Training returns ``loss_cls`` (the head's ``loss``, renamed as before;
    other keys of the head, e.g. accuracy, pass through). Prediction gives
    ``pred_score`` ``(K,)``, ``pred_label`` and the fused ``embedding``
    ``(D,)`` of every sample.

    Args:
        backbone (dict): Zoo backbone config, shared by all views.
        head (dict): Classification head on ``(N, D)``, e.g.
            ``dict(type='LinearClsHead', num_classes=6, in_channels=128)``.
        neck, projector, view_fusion, temporal_fusion,
        temporal_fusion_order: See :class:`BaseMultiViewModel`.
        freeze (bool): Freeze everything but ``head`` (linear probe).
            Defaults to False.
        data_preprocessor (dict | nn.Module, optional): See
            :class:`BaseMultiViewModel`.
        init_cfg (dict, optional): E.g. ``dict(type='Pretrained',
            checkpoint=...)`` to start from a pre-trained checkpoint (its
            head and text-side keys are reported as missing / unexpected,
            not errors). Defaults to None.
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 neck: Optional[dict] = None,
                 projector: Optional[dict] = None,
                 view_fusion: Optional[dict] = None,
                 temporal_fusion: Optional[dict] = None,
                 temporal_fusion_order: str = 'before',
                 freeze: bool = False,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(
            backbone=backbone,
            neck=neck,
            projector=projector,
            view_fusion=view_fusion,
            temporal_fusion=temporal_fusion,
            temporal_fusion_order=temporal_fusion_order,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.head = MODELS.build(head)
        self.freeze = freeze
        if freeze:
            self.freeze_all_but(('head', ))

    @property
    def num_classes(self) -> int:
        """Number of classes of the head."""
        return int(self.head.num_classes)

    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        """The head's losses on the fused embedding, ``loss`` renamed
        ``loss_cls``.

        Args:
            inputs (torch.Tensor): ``(N, V, C, H, W)`` or
                ``(N, T, V, C, H, W)``.
            data_samples (list[DataSample]): With ``gt_label``.
        """
        fused, _ = self.extract_feat(inputs)
        losses = self.head.loss((fused, ), data_samples)
        return {('loss_cls' if k == 'loss' else k): v
                for k, v in losses.items()}

    def predict(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None,
                **kwargs) -> List[DataSample]:
        """Scores ``pred_score`` ``(K,)``, ``pred_label`` and
        ``embedding`` ``(D,)`` of every sample."""
        fused, _ = self.extract_feat(inputs)
        if data_samples is None:
            data_samples = [DataSample() for _ in range(fused.shape[0])]
        data_samples = self.head.predict((fused, ), data_samples, **kwargs)
        return self.with_embeddings(data_samples, fused)
