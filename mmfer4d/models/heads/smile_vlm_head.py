# Copyright (c) mmfer4d contributors. All rights reserved.
"""The SMILE-VLM objectives on top of the multi-view embeddings."""
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.structures import DataSample

from mmfer4d.registry import MODELS
from ..losses import VisionLanguageContrastiveLoss
from ..utils import all_reduce_with_grad


@MODELS.register_module()
class SMILEVLMHead(BaseModule):
    """The three SMILE-VLM objectives and zero-shot prediction.

    Behzad, "SMILE-VLM", arXiv 2506.01203. Owns the losses and their
    weights, as mmpretrain's ``LatentCrossCorrelationHead`` owns its loss:

    - ``loss_mv``: multiview Barlow Twins on the per-view embeddings
      ``(N, V, D)``;
    - ``loss_vl``: ``vl_fused_weight`` times the vision-language
      contrastive loss of the fused embeddings ``(N', D)`` plus
      ``vl_view_weight`` times that of the per-view embeddings, against
      each sample's prompt embedding, with multi-positive class targets;
    - ``loss_cmr``: cross-modal redundancy of the fused and prompt
      embeddings.

    ``N'`` counts the samples that have a text (label ``>= 0``); the text
    losses need at least two of them in the global batch
    (:meth:`enough_pairs`), else they are zeros that still reach every
    text-side parameter, so that DDP sees the same parameters used on
    every rank.

    Zero-shot prediction scores a face by the softmax of
    :meth:`VisionLanguageContrastiveLoss.get_logits` between its fused
    embedding and the ensembled class prompts.

    Args:
        loss_mv (dict): Defaults to ``dict(type='MultiViewBarlowTwinsLoss')``.
        loss_vl (dict, optional): Defaults to
            ``dict(type='VisionLanguageContrastiveLoss')``; None builds no
            text losses (``text_source='none'``).
        loss_cmr (dict, optional): Defaults to
            ``dict(type='CrossModalRedundancyLoss')``; None with
            ``loss_vl=None``.
        vl_fused_weight (float): Weight of the fused term of ``loss_vl``.
            Defaults to 1.0.
        vl_view_weight (float): Weight of the per-view term. Defaults to 1.0.
        zero_shot_logit_scale (float, optional): Scale of zero-shot logits;
            None uses ``loss_vl``'s learnt scale (100 without it).
            Defaults to None.
        init_cfg (dict, optional): Initialisation config. Defaults to None.

    Raises:
        ValueError: If only one of ``loss_vl`` / ``loss_cmr`` is None.
    """

    def __init__(self,
                 loss_mv: dict = dict(type='MultiViewBarlowTwinsLoss'),
                 loss_vl: Optional[dict] = dict(
                     type='VisionLanguageContrastiveLoss'),
                 loss_cmr: Optional[dict] = dict(
                     type='CrossModalRedundancyLoss'),
                 vl_fused_weight: float = 1.0,
                 vl_view_weight: float = 1.0,
                 zero_shot_logit_scale: Optional[float] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if (loss_vl is None) != (loss_cmr is None):
            raise ValueError('loss_vl and loss_cmr are both text losses: '
                             'give both or neither (None)')
        self.vl_fused_weight = vl_fused_weight
        self.vl_view_weight = vl_view_weight
        self.zero_shot_logit_scale = zero_shot_logit_scale
        self.loss_mv = MODELS.build(loss_mv)
        self.loss_vl = self.loss_cmr = None
        if loss_vl is not None:
            self.loss_vl = MODELS.build(loss_vl)
            self.loss_cmr = MODELS.build(loss_cmr)

    @property
    def with_text(self) -> bool:
        """Whether the text losses are built."""
        return self.loss_vl is not None

    @staticmethod
    def enough_pairs(labels: torch.Tensor) -> bool:
        """Whether the global batch has two or more samples with a text.

        Decided on the count summed over ranks, so that under DDP every
        rank takes the same branch and calls the same collectives.

        Args:
            labels (torch.Tensor): ``(N,)`` class of every sample's text,
                -1 for none.
        """
        count = all_reduce_with_grad((labels >= 0).sum().float(), op='sum')
        return int(count) >= 2

    def loss(self,
             fused: torch.Tensor,
             per_view: torch.Tensor,
             prompts: Optional[torch.Tensor] = None,
             labels: Optional[torch.Tensor] = None,
             prompt_idx: Optional[torch.Tensor] = None
             ) -> Dict[str, torch.Tensor]:
        """The SMILE-VLM losses of a batch.

        Args:
            fused (torch.Tensor): Fused embeddings ``(N, D)``.
            per_view (torch.Tensor): Per-view embeddings ``(N, V, D)``.
            prompts (torch.Tensor, optional): Embeddings ``(P, D)`` of the
                prompt bank; None gives only ``loss_mv``.
            labels (torch.Tensor, optional): ``(N,)`` class of every
                sample's text, -1 for none.
            prompt_idx (torch.Tensor, optional): ``(N',)`` index into
                ``prompts`` of the phrasing of every sample with
                ``labels >= 0``, in batch order; None when
                :meth:`enough_pairs` is False (zero text losses).

        Returns:
            dict[str, Tensor]: ``loss_mv``, and with ``prompts``
            ``loss_vl`` and ``loss_cmr``.

        Raises:
            ValueError: If ``prompts`` is given to a head without text
                losses.
        """
        losses = dict(loss_mv=self.loss_mv(per_view))
        if prompts is None:
            return losses
        if not self.with_text:
            raise ValueError('this SMILEVLMHead has no text losses '
                             '(loss_vl=None) but got prompts')
        if prompt_idx is None:
            # Too few texts in the global batch: zero losses that still
            # touch every text-side parameter.
            zero = prompts.sum() * 0 + fused.sum() * 0
            for p in self.loss_vl.parameters():
                zero = zero + p.sum() * 0
            losses.update(loss_vl=zero, loss_cmr=zero.clone())
            return losses
        idx = (labels >= 0).nonzero(as_tuple=True)[0]
        labels = labels[idx]
        text = prompts[prompt_idx]  # (N', D)
        loss_vl = self.vl_fused_weight * self.loss_vl(fused[idx], text, labels)
        if self.vl_view_weight > 0:
            loss_vl = loss_vl + self.vl_view_weight * self.loss_vl(
                per_view[idx], text, labels)
        losses['loss_vl'] = loss_vl
        losses['loss_cmr'] = self.loss_cmr(fused[idx], text)
        return losses

    def zero_shot_scale(self) -> float:
        """Scale ``s`` of the zero-shot logits (see ``Args``)."""
        if self.zero_shot_logit_scale is not None:
            return float(self.zero_shot_logit_scale)
        if hasattr(self.loss_vl, 'get_logit_scale'):
            return float(self.loss_vl.get_logit_scale().detach())
        return 100.0

    def predict(self, fused: torch.Tensor, class_embeddings: torch.Tensor,
                data_samples: List[DataSample]) -> List[DataSample]:
        """Zero-shot ``pred_score`` ``(K,)`` and ``pred_label``.

        Args:
            fused (torch.Tensor): Fused embeddings ``(N, D)``.
            class_embeddings (torch.Tensor): L2-normalised class prompt
                embeddings ``(K, D)`` (:meth:`PromptBank.ensemble`).
            data_samples (list[DataSample]): ``N`` samples, updated in
                place.

        Returns:
            list[DataSample]: ``data_samples``.
        """
        get_logits = getattr(self.loss_vl, 'get_logits',
                             VisionLanguageContrastiveLoss.get_logits)
        logits, _ = get_logits(
            F.normalize(fused, dim=-1), class_embeddings,
            self.zero_shot_scale())
        scores = logits.softmax(dim=-1)
        labels = scores.argmax(dim=-1, keepdim=True).detach()
        for ds, s, lab in zip(data_samples, scores, labels):
            ds.set_pred_score(s.detach()).set_pred_label(lab)
        return data_samples
