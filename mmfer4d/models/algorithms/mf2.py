# Copyright (c) mmfer4d contributors. All rights reserved.
"""MF²: a multilevel face model aligned with AU- and emotion-level text.

Zheng, Ge, Fu, Peng, Jose, "Multimodal Representation Learning Techniques
for Comprehensive Facial State Analysis", arXiv 2504.10351. No code is
public and only the abstract could be read: MF² models visual features at
a local and a global level of the face and aligns them with structured
AU-level and emotion-level descriptions (MFA, written by GPT-4o). What
this implementation chooses where the paper could not be read, each
configurable: the local level is the AU regions of
:mod:`mmfer4d.models.utils.au_regions` pooled by :class:`AURegionNeck`
from a backbone stage; the global level is the view-fused embedding of
:class:`BaseMultiViewModel`; the text is the open_clip text tower that
SMILE-VLM uses, on descriptions from :class:`MultilevelDescriptionGenerator`
(or :class:`ExternalDescriptions`); the heads and losses are
:class:`MF2Head`'s.
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmpretrain.structures import DataSample
from torch import nn

from mmfer4d.registry import MODELS
from ..text.descriptions import (ExternalDescriptions,
                                 MultilevelDescriptionGenerator)
from ..utils.au_regions import AU_REGIONS, REGION_NAMES
from .base_multi_view_model import BaseMultiViewModel


@MODELS.register_module()
class MF2(BaseMultiViewModel):
    """Multilevel Multimodal Face Foundation model (MF²).

    Inputs ``(N, V, C, H, W)`` (rendered views of scans, or ``V = 1`` for
    2D face images) with data samples carrying ``landmarks_2d``
    ``(V, 68, 2)`` (and optionally ``landmarks_2d_visible`` ``(V, 68)``),
    ``gt_au`` ``(A,)`` (and ``gt_au_intensity``) and ``gt_label``.

    1. The backbone runs on all ``N * V`` images; its last stage gives the
       global features (neck, projector, view fusion of
       :class:`BaseMultiViewModel`: ``(N, D)``); the stage
       ``region_neck.index`` gives the ``R`` region features per image,
       projected per region to ``D`` and fused over the views weighted by
       each region's landmark visibility: local ``(N, R, D)``.
    2. Text: every sample's region descriptions ``(N, R)`` and emotion
       description, embedded by the text encoder (``(N, R, D)``, ``(N,
       D)``); phrasings change with the training step.
    3. :class:`MF2Head`: ``loss_local``, ``loss_global``, ``loss_au``,
       ``loss_emotion``; prediction of AU scores and the emotion.

    Args:
        backbone (dict): Zoo backbone; ``out_indices`` must give the region
            stage and the last stage (e.g. ResNet ``out_indices=(2, 3)``).
        au_names (Sequence[str]): AU names in label order (``A``).
        classes (Sequence[str], optional): Emotions; None or empty: no
            emotion head nor emotion text. Defaults to None.
        neck, projector, view_fusion: See :class:`BaseMultiViewModel`
            (sequences, ``(N, T, V, ...)``, are not supported here).
        region_neck (dict): Defaults to
            ``dict(type='AURegionNeck', index=-2)``.
        text_encoder (dict, optional): Defaults to
            ``dict(type='OpenCLIPTextEncoder')``; ``out_channels`` is set to
            ``D``. None: no text (only the classification losses).
        descriptions (dict, optional): Arguments of
            :class:`MultilevelDescriptionGenerator` (``seed``,
            ``with_intensity``). Defaults to None (its defaults).
        external_descriptions (str, optional): A JSON / JSONL file of
            :class:`ExternalDescriptions`; its ``emotion_text`` and
            ``region_texts`` replace the generated ones for the samples it
            holds (a sample it lacks is an error). Defaults to None.
        head (dict, optional): Defaults to ``dict(type='MF2Head')``; its
            sizes are filled in.
        data_preprocessor (dict | nn.Module, optional), init_cfg (dict,
            optional): See :class:`BaseMultiViewModel`.

    Raises:
        ValueError: Without ``au_names``; (in loss / predict) for inputs
            that are not ``(N, V, C, H, W)`` or samples without
            ``landmarks_2d`` of 68 points.
        KeyError: For an AU without a FACS name.
    """

    def __init__(self,
                 backbone: dict,
                 au_names: Sequence[str] = (),
                 classes: Optional[Sequence[str]] = None,
                 neck: Optional[dict] = None,
                 projector: Optional[dict] = None,
                 view_fusion: Optional[dict] = None,
                 region_neck: Optional[dict] = None,
                 text_encoder: Optional[dict] = dict(
                     type='OpenCLIPTextEncoder'),
                 descriptions: Optional[dict] = None,
                 external_descriptions: Optional[str] = None,
                 head: Optional[dict] = None,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[dict] = None):
        if not au_names:
            raise ValueError('MF2 needs `au_names` (one logit per AU)')
        super().__init__(
            backbone=backbone,
            neck=neck,
            projector=projector,
            view_fusion=view_fusion,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.au_names = tuple(au_names)
        self.classes = tuple(classes or ())
        self.region_neck = MODELS.build(
            region_neck or dict(type='AURegionNeck', index=-2))
        num_regions = self.region_neck.num_regions
        feat = self.region_neck.feature_channels(self._region_channels())
        d = self.embed_dims
        # One linear map per region (regions differ in what they hold).
        self.region_weight = nn.Parameter(
            torch.randn(num_regions, feat, d) / np.sqrt(feat))
        self.region_bias = nn.Parameter(torch.zeros(num_regions, d))
        self.region_norm = nn.LayerNorm(d)

        self.text_encoder = None
        if text_encoder is not None:
            text_encoder = copy.deepcopy(text_encoder)
            text_encoder['out_channels'] = d
            self.text_encoder = MODELS.build(text_encoder)
        self.describer = MultilevelDescriptionGenerator(
            self.au_names, self.classes or None, **(descriptions or {}))
        self.external = None if external_descriptions is None else \
            ExternalDescriptions(external_descriptions)
        head = copy.deepcopy(head or dict(type='MF2Head'))
        head.update(num_aus=len(self.au_names),
                    num_classes=len(self.classes), embed_dims=d,
                    num_regions=num_regions)
        if self.text_encoder is None:
            head.update(loss_local=None, loss_global=None)
        if not self.classes:
            head.update(loss_global=None)
        self.head = MODELS.build(head)
        self._step = 0
        self._tower_cache: Dict[str, torch.Tensor] = {}
        # Regions with AUs of this model: the others have no text.
        self.text_regions = tuple(
            r for r, name in enumerate(REGION_NAMES)
            if set(AU_REGIONS[name]) & set(self.au_names))

    @torch.no_grad()
    def _region_channels(self) -> int:
        was = self.backbone.training
        self.backbone.eval()
        try:
            out = self.backbone(torch.zeros(1, self.in_channels, 64, 64))
        finally:
            self.backbone.train(was)
        return int(self.region_neck.select(out).shape[1])

    # ------------------------------------------------------------------
    # Features
    # ------------------------------------------------------------------
    def extract_multilevel(
            self, inputs: torch.Tensor,
            data_samples: Optional[List[DataSample]]) -> Tuple[torch.Tensor,
                                                               torch.Tensor]:
        """Global ``(N, D)`` and local ``(N, R, D)`` features.

        Raises:
            ValueError: For inputs that are not ``(N, V, C, H, W)``, or
                samples without 68 ``landmarks_2d`` per view.
        """
        if inputs.dim() != 5:
            raise ValueError('MF2 takes (N, V, C, H, W) inputs (scans or 2D '
                             f'images as V=1), got {tuple(inputs.shape)}')
        n, v = inputs.shape[:2]
        lm, vis = self._landmarks(data_samples, n, v, inputs.device)
        feat_maps = self.extract_feat_maps(inputs)
        fused, _ = self.fuse(self.embed_views(feat_maps, num_views=v))
        feats, weights = self.region_neck(feat_maps, lm, inputs.shape[-2:],
                                          vis)  # (N V, R, F), (N V, R)
        local = torch.einsum('brf,rfd->brd', feats, self.region_weight)
        local = self.region_norm(local + self.region_bias)
        local = local.view(n, v, *local.shape[1:])
        w = weights.view(n, v, -1)
        w = torch.where(w.sum(1, keepdim=True) > 0, w, torch.ones_like(w))
        local = (local * w[..., None]).sum(1) / w.sum(1)[..., None]
        return fused, local

    def extract_feat(self, inputs: torch.Tensor,
                     data_samples: Optional[List[DataSample]] = None):
        """``(fused (N, D), local (N, R, D))``; see
        :meth:`extract_multilevel`."""
        return self.extract_multilevel(inputs, data_samples)

    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        if mode == 'tensor':
            return self.extract_feat(inputs, data_samples)
        return super().forward(inputs, data_samples, mode)

    @staticmethod
    def _landmarks(data_samples, n: int, v: int, device):
        if not data_samples or 'landmarks_2d' not in data_samples[0]:
            raise ValueError(
                'MF2 pools AU regions from landmarks: its data samples need '
                '`landmarks_2d` (V, 68, 2), which RenderMultiView adds for '
                'meshes with 68 landmarks and LoadFaceImageAU for images')
        lm = torch.stack([ds.landmarks_2d for ds in data_samples]).float()
        if lm.shape[:2] != (n, v) or lm.shape[2:] != (68, 2):
            raise ValueError(f'MF2: landmarks_2d of the batch are '
                             f'{tuple(lm.shape)}, expected ({n}, {v}, 68, 2)')
        vis = None
        if 'landmarks_2d_visible' in data_samples[0]:
            vis = torch.stack(
                [ds.landmarks_2d_visible for ds in data_samples]).bool()
            vis = vis.flatten(0, 1).to(device)
        return lm.flatten(0, 1).to(device), vis

    # ------------------------------------------------------------------
    # Text
    # ------------------------------------------------------------------
    def embed_texts(self, texts: Sequence[str]) -> torch.Tensor:
        """Joint-space embeddings ``(P, D)`` of ``texts``; each distinct
        text runs through the tower once per batch (once per run when the
        tower is frozen)."""
        enc = self.text_encoder
        unique = list(dict.fromkeys(texts))
        if enc.frozen:
            missing = [t for t in unique if t not in self._tower_cache]
            if missing:
                with torch.no_grad():
                    out = enc.tower(enc.tokenize(missing).to(
                        enc.proj.weight.device))
                for t, f in zip(missing, out):
                    self._tower_cache[t] = f.detach()
            tower = torch.stack([self._tower_cache[t] for t in unique])
            tower = tower.to(enc.proj.weight.device)
        else:
            tower = enc.encode_tower(unique)
        emb = enc.proj(tower)
        pos = {t: i for i, t in enumerate(unique)}
        return emb[torch.tensor([pos[t] for t in texts],
                                device=emb.device)]

    def sample_texts(self, data_samples: List[DataSample]):
        """Region texts (``N`` lists of ``R'``), region state keys (``R'``
        lists of ``N``) and emotion texts (``N``) of a batch; ``R'`` are the
        regions in :attr:`text_regions`."""
        region_texts, emotion_texts = [], []
        states = [[] for _ in self.text_regions]
        for i, ds in enumerate(data_samples):
            index = int(ds.metainfo.get('sample_idx', i)) + self._step
            gt = ds.gt_au.cpu().numpy() if 'gt_au' in ds else None
            ints = ds.gt_au_intensity.cpu().numpy() \
                if 'gt_au_intensity' in ds else None
            record = None
            if self.external is not None:
                record = self.external.lookup(ds.metainfo)
            row = []
            for j, r in enumerate(self.text_regions):
                name = REGION_NAMES[r]
                ext = (record or {}).get('region_texts', {}).get(name)
                if ext is not None:
                    row.append(ext)
                    states[j].append(ext)
                    continue
                if gt is None:
                    raise ValueError(
                        f'MF2: data sample {i} has no gt_au for its AU '
                        'descriptions (and no external region text)')
                row.append(self.describer.region_text(name, gt, ints, index))
                served = set(AU_REGIONS[name])
                states[j].append(','.join(
                    a for a, g in zip(self.au_names, gt)
                    if g > 0 and a in served))
            region_texts.append(row)
            if self.classes:
                ext = (record or {}).get('emotion_text')
                emotion_texts.append(ext or self.describer.emotion_text(
                    int(ds.gt_label.reshape(-1)[0]), index))
        return region_texts, states, emotion_texts

    # ------------------------------------------------------------------
    # Modes
    # ------------------------------------------------------------------
    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        """``loss_local``, ``loss_global``, ``loss_au``, ``loss_emotion``
        (those configured) of a batch."""
        fused, local = self.extract_multilevel(inputs, data_samples)
        gt_au = gt_label = None
        if 'gt_au' in data_samples[0]:
            gt_au = torch.stack([ds.gt_au for ds in data_samples]).to(
                fused.device).reshape(len(data_samples), -1)
        if self.classes and 'gt_label' in data_samples[0]:
            gt_label = torch.cat([ds.gt_label.reshape(-1)[:1]
                                  for ds in data_samples]).long().to(
                                      fused.device)
        region_text = states = emotion_text = None
        if self.text_encoder is not None:
            texts, states, emotions = self.sample_texts(data_samples)
            n, r = len(texts), len(self.text_regions)
            flat = [t for row in texts for t in row]
            emb = self.embed_texts(flat + emotions)
            region_text = emb[:n * r].view(n, r, -1)
            if emotions:
                emotion_text = emb[n * r:]
        self._step += 1
        return self.head.loss(fused, local, gt_au, gt_label, region_text,
                              states, emotion_text, self.text_regions)

    def predict(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None,
                **kwargs) -> List[DataSample]:
        """``pred_au_score`` ``(A,)``, ``pred_au``, and with classes
        ``pred_score`` ``(K,)`` and ``pred_label``; ``embedding`` ``(D,)``.
        """
        fused, local = self.extract_multilevel(inputs, data_samples)
        data_samples = self.head.predict(fused, local, data_samples)
        return self.with_embeddings(data_samples, fused)
