# Copyright (c) mmfer4d contributors. All rights reserved.
"""The MF² objectives: multilevel vision-language alignment, AU detection
and emotion classification."""
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.model import BaseModule
from mmpretrain.structures import DataSample
from torch import nn

from mmfer4d.registry import MODELS


@MODELS.register_module()
class MF2Head(BaseModule):
    """Losses and predictions of MF² (Zheng et al., arXiv 2504.10351).

    Only the paper's abstract is public: it aligns local and global visual
    features with AU-level and emotion-level descriptions. The terms here,
    each named and weighted in the config (``loss_weight`` of its loss):

    - ``loss_local``: for every AU region ``r``, a contrastive loss between
      the region features ``(N, D)`` and the embeddings of the samples'
      region descriptions (:meth:`MultilevelDescriptionGenerator.
      region_text`), samples with the same active AUs in ``r`` positives of
      each other (multi-positive targets of
      :class:`VisionLanguageContrastiveLoss`); averaged over the regions
      whose batch holds two or more different states;
    - ``loss_global``: the same between the fused face embeddings ``(N, D)``
      and the emotion-level descriptions, positives by emotion;
    - ``loss_au``: multi-label AU detection, one logit per AU from the
      concatenated region and global features, binary cross-entropy with
      unknown labels left out (:class:`AUBinaryCrossEntropyLoss`);
    - ``loss_emotion``: emotion classification (cross-entropy) from the
      same features.

    Args:
        num_aus (int): ``A``.
        num_classes (int): ``K`` emotions; 0 builds no emotion classifier.
        embed_dims (int): ``D``.
        num_regions (int): ``R``.
        loss_local (dict, optional): Defaults to
            ``dict(type='VisionLanguageContrastiveLoss')``; None: no term.
        loss_global (dict, optional): Defaults to the same; None: no term.
        loss_au (dict, optional): Defaults to
            ``dict(type='AUBinaryCrossEntropyLoss')``; None: no term.
        loss_emotion (dict, optional): Defaults to
            ``dict(type='CrossEntropyLoss')`` (mmpretrain); None: no term.
        dropout (float): Dropout before the classifiers. Defaults to 0.1.
        init_cfg (dict, optional): Defaults to None.
    """

    def __init__(self,
                 num_aus: int,
                 num_classes: int,
                 embed_dims: int,
                 num_regions: int,
                 loss_local: Optional[dict] = dict(
                     type='VisionLanguageContrastiveLoss'),
                 loss_global: Optional[dict] = dict(
                     type='VisionLanguageContrastiveLoss'),
                 loss_au: Optional[dict] = dict(
                     type='AUBinaryCrossEntropyLoss'),
                 loss_emotion: Optional[dict] = dict(type='CrossEntropyLoss'),
                 dropout: float = 0.1,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.num_aus = int(num_aus)
        self.num_classes = int(num_classes)
        in_dims = embed_dims * (num_regions + 1)
        self.dropout = nn.Dropout(dropout)
        self.au_classifier = nn.Linear(in_dims, self.num_aus)
        self.emotion_classifier = nn.Linear(
            in_dims, self.num_classes) if self.num_classes > 0 else None

        def build(cfg):
            return None if cfg is None else MODELS.build(cfg)

        self.loss_local = build(loss_local)
        self.loss_global = build(loss_global)
        self.loss_au = build(loss_au)
        self.loss_emotion = build(loss_emotion) if self.num_classes else None

    @property
    def with_local_text(self) -> bool:
        return self.loss_local is not None

    @property
    def with_global_text(self) -> bool:
        return self.loss_global is not None

    def logits(self, fused: torch.Tensor,
               local: torch.Tensor) -> Dict[str, torch.Tensor]:
        """AU logits ``(N, A)`` and emotion logits ``(N, K)``.

        Args:
            fused (torch.Tensor): Global embeddings ``(N, D)``.
            local (torch.Tensor): Region embeddings ``(N, R, D)``.
        """
        x = self.dropout(torch.cat([local.flatten(1), fused], 1))
        out = dict(au=self.au_classifier(x))
        if self.emotion_classifier is not None:
            out['emotion'] = self.emotion_classifier(x)
        return out

    @staticmethod
    def _state_labels(keys: List[str], device) -> torch.Tensor:
        index: Dict[str, int] = {}
        return torch.tensor([index.setdefault(k, len(index)) for k in keys],
                            device=device)

    def loss(self,
             fused: torch.Tensor,
             local: torch.Tensor,
             gt_au: Optional[torch.Tensor] = None,
             gt_label: Optional[torch.Tensor] = None,
             region_text: Optional[torch.Tensor] = None,
             region_states: Optional[List[List[str]]] = None,
             emotion_text: Optional[torch.Tensor] = None,
             text_regions: Optional[Sequence[int]] = None
             ) -> Dict[str, torch.Tensor]:
        """The MF² losses of a batch.

        Args:
            fused (torch.Tensor): ``(N, D)``.
            local (torch.Tensor): ``(N, R, D)``.
            gt_au (torch.Tensor, optional): ``(N, A)`` 1 / 0 / negative
                (unknown).
            gt_label (torch.Tensor, optional): ``(N,)`` emotions.
            region_text (torch.Tensor, optional): ``(N, R', D)`` embeddings
                of every sample's region descriptions.
            region_states (list[list[str]], optional): ``R'`` lists of ``N``
                keys (the active AUs of region ``r``): equal keys are
                positives.
            emotion_text (torch.Tensor, optional): ``(N, D)``.
            text_regions (Sequence[int], optional): The ``R'`` regions of
                ``local`` that ``region_text`` describes, in its order.
                Defaults to None (all ``R``).

        Returns:
            dict[str, Tensor]: those of ``loss_local``, ``loss_global``,
            ``loss_au``, ``loss_emotion`` whose loss and inputs are given.
        """
        losses = {}
        logits = self.logits(fused, local)
        if self.loss_au is not None and gt_au is not None:
            losses['loss_au'] = self.loss_au(logits['au'], gt_au)
        if self.loss_emotion is not None and gt_label is not None:
            losses['loss_emotion'] = self.loss_emotion(
                logits['emotion'], gt_label)
        if self.loss_global is not None and emotion_text is not None:
            losses['loss_global'] = self.loss_global(fused, emotion_text,
                                                     gt_label)
        if self.loss_local is not None and region_text is not None:
            if text_regions is not None:
                local = local[:, list(text_regions)]
            terms = []
            for r, keys in enumerate(region_states):
                if len(set(keys)) < 2:
                    continue  # one state in the batch: nothing to contrast
                terms.append(
                    self.loss_local(local[:, r], region_text[:, r],
                                    self._state_labels(keys, fused.device)))
            if terms:
                losses['loss_local'] = torch.stack(terms).mean()
            else:
                zero = local.sum() * 0 + region_text.sum() * 0
                for p in self.loss_local.parameters():
                    zero = zero + p.sum() * 0
                losses['loss_local'] = zero
        return losses

    def predict(self, fused: torch.Tensor, local: torch.Tensor,
                data_samples: List[DataSample]) -> List[DataSample]:
        """``pred_au_score`` ``(A,)`` (sigmoid), ``pred_au`` (0/1 at 0.5),
        and with an emotion classifier ``pred_score`` ``(K,)`` and
        ``pred_label``, for every sample (updated in place)."""
        logits = self.logits(fused, local)
        au = logits['au'].sigmoid().detach()
        for i, ds in enumerate(data_samples):
            ds.set_field(au[i], 'pred_au_score', field_type='data')
            ds.set_field((au[i] >= 0.5).float(), 'pred_au',
                         field_type='data')
        if 'emotion' in logits:
            scores = logits['emotion'].softmax(-1).detach()
            for ds, s in zip(data_samples, scores):
                ds.set_pred_score(s).set_pred_label(s.argmax(keepdim=True))
        return data_samples
