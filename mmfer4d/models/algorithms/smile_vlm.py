# Copyright (c) mmfer4d contributors. All rights reserved.
"""SMILE-VLM: multiview vision-language pre-training for 3D/4D expressions.

Behzad, "SMILE-VLM", arXiv 2506.01203. The algorithm only wires its parts;
the three objectives live in ``mmfer4d/models/losses/``.
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmpretrain.structures import DataSample
from torch import nn

from mmfer4d.registry import MODELS
from ..text.prompt_bank import PromptBank
from ..utils import all_reduce_with_grad

_TEXT_SOURCES = ('label', 'pseudo', 'none')
_PREDICT_MODES = ('zero_shot', 'head')


@MODELS.register_module()
class SMILEVLM(BaseModel):
    """SMILE-VLM dual encoder.

    Vision side: a zoo backbone shared by all views of ``(N, V, C, H, W)``
    (or all frames and views of ``(N, T, V, C, H, W)``), :class:`MultiViewNeck`
    pooling to ``(N, V, D_v)``, a projector to the joint space ``(N, V, D)``
    and a view fusion to ``(N, D)``; for sequences a temporal fusion before
    (per view, over frames) or after (over the view-fused frames) the view
    fusion. Text side: :class:`OpenCLIPTextEncoder` on a :class:`PromptBank`.

    Training (``predict_mode='zero_shot'``) returns ``loss_mv`` (multiview
    Barlow Twins on the per-view embeddings), and unless
    ``text_source='none'``: ``loss_vl`` (``vl_fused_weight`` times the
    contrastive loss of the fused embedding plus ``vl_view_weight`` times
    that of the per-view embeddings, with multi-positive class targets) and
    ``loss_cmr`` (cross-modal redundancy of fused and text embeddings). The
    text of a sample is one phrasing of its class: the ground truth
    (``'label'``) or the pseudo-label that :class:`PseudoLabelHook` stored
    for its ``sample_idx`` (``'pseudo'``; samples without one only get
    ``loss_mv``). With ``predict_mode='head'`` training returns only
    ``loss_cls`` of ``head`` on the fused embedding (fine-tune, or linear
    probe with ``freeze=True``).

    Args:
        backbone (dict): Zoo backbone config; ``in_channels`` should match
            the rendered modalities (4 for depth + normal).
        neck (dict): Defaults to ``dict(type='MultiViewNeck')``.
        projector (dict): Defaults to
            ``dict(type='MultiViewProjectionHead')``; ``in_channels`` is
            inferred from the backbone when missing.
        view_fusion (dict): Defaults to ``dict(type='MeanViewFusion')``.
            For ``AttentionViewFusion`` ``embed_dims`` is filled in.
        temporal_fusion (dict, optional): Used for 6-D inputs; None means
            ``MeanTemporalFusion``. ``embed_dims`` is filled in when the
            type takes it. Defaults to None.
        temporal_fusion_order (str): ``'before'`` or ``'after'`` the view
            fusion. Defaults to ``'before'``.
        text_encoder (dict, optional): Defaults to
            ``dict(type='OpenCLIPTextEncoder')``; ``out_channels`` is set
            to the projector's. May be None with ``predict_mode='head'``.
            Locked (no gradients) when no objective uses it
            (``predict_mode='head'`` or ``text_source='none'``).
        classes (Sequence[str], optional): Class names in label order;
            required with ``predict_mode='zero_shot'``. Defaults to None.
        prompt_family (str): Prompt family name or JSON path. Defaults to
            ``'default'``.
        intensity_aware_prompts (bool): Sample intensity phrasings from the
            ``intensity`` metainfo. Defaults to False.
        text_source (str): Where the text of a sample comes from during
            pre-training: ``'label'``, ``'pseudo'`` or ``'none'`` (only
            ``loss_mv``). Defaults to ``'label'``.
        loss_mv (dict): Defaults to ``dict(type='MultiViewBarlowTwinsLoss')``.
        loss_vl (dict): Defaults to
            ``dict(type='VisionLanguageContrastiveLoss')``.
        loss_cmr (dict): Defaults to ``dict(type='CrossModalRedundancyLoss')``.
        vl_fused_weight (float): Weight of the fused term of ``loss_vl``.
            Defaults to 1.0.
        vl_view_weight (float): Weight of the per-view term. Defaults to 1.0.
        predict_mode (str): ``'zero_shot'`` or ``'head'``. Defaults to
            ``'zero_shot'``.
        head (dict, optional): A classification head on the fused embedding
            (e.g. ``dict(type='LinearClsHead', num_classes=7,
            in_channels=512)``); required with ``predict_mode='head'``.
        freeze (bool): Freeze everything but ``head`` (linear probe; frozen
            parts stay in eval mode). Defaults to False.
        zero_shot_logit_scale (float, optional): Scale of zero-shot logits;
            None uses the contrastive loss's learnt scale (or 100 without
            it). Defaults to None.
        seed (int): Seed of prompt sampling. Defaults to 0.
        data_preprocessor (dict, optional): Defaults to
            ``dict(type='MultiViewDataPreprocessor')``.
        init_cfg (dict, optional): E.g. ``dict(type='Pretrained',
            checkpoint=...)`` to start from a SMILE-VLM checkpoint.

    Raises:
        ValueError: For an unknown ``text_source`` / ``predict_mode`` /
            ``temporal_fusion_order``, or a missing ``classes`` / ``head`` /
            ``text_encoder`` that the chosen modes need.
    """

    def __init__(
            self,
            backbone: dict,
            neck: Optional[dict] = None,
            projector: Optional[dict] = None,
            view_fusion: Optional[dict] = None,
            temporal_fusion: Optional[dict] = None,
            temporal_fusion_order: str = 'before',
            text_encoder: Optional[dict] = dict(type='OpenCLIPTextEncoder'),
            classes: Optional[Sequence[str]] = None,
            prompt_family: str = 'default',
            intensity_aware_prompts: bool = False,
            text_source: str = 'label',
            loss_mv: Optional[dict] = None,
            loss_vl: Optional[dict] = None,
            loss_cmr: Optional[dict] = None,
            vl_fused_weight: float = 1.0,
            vl_view_weight: float = 1.0,
            predict_mode: str = 'zero_shot',
            head: Optional[dict] = None,
            freeze: bool = False,
            zero_shot_logit_scale: Optional[float] = None,
            seed: int = 0,
            data_preprocessor: Optional[Union[dict, nn.Module]] = None,
            init_cfg: Optional[dict] = None):
        if text_source not in _TEXT_SOURCES:
            raise ValueError(f'text_source must be one of {_TEXT_SOURCES}, '
                             f'got {text_source!r}')
        if predict_mode not in _PREDICT_MODES:
            raise ValueError(f'predict_mode must be one of {_PREDICT_MODES},'
                             f' got {predict_mode!r}')
        if temporal_fusion_order not in ('before', 'after'):
            raise ValueError("temporal_fusion_order must be 'before' or "
                             f"'after', got {temporal_fusion_order!r}")
        if predict_mode == 'head' and head is None:
            raise ValueError("predict_mode='head' needs a `head` config")
        # The text side serves zero-shot prediction and the pre-training
        # objective; head mode trains only `loss_cls`.
        uses_text = predict_mode == 'zero_shot'
        if uses_text and not classes:
            raise ValueError("`classes` is required with "
                             "predict_mode='zero_shot'")
        if uses_text and text_encoder is None:
            raise ValueError("`text_encoder` is required with "
                             "predict_mode='zero_shot'")
        if data_preprocessor is None:
            data_preprocessor = dict(type='MultiViewDataPreprocessor')
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)

        self.text_source = text_source
        self.predict_mode = predict_mode
        self.temporal_fusion_order = temporal_fusion_order
        self.vl_fused_weight = vl_fused_weight
        self.vl_view_weight = vl_view_weight
        self.freeze = freeze
        self.zero_shot_logit_scale = zero_shot_logit_scale
        self.classes = tuple(classes) if classes else None

        # Vision side.
        self.in_channels = backbone.get('in_channels', 3)
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck or dict(type='MultiViewNeck'))
        projector = copy.deepcopy(
            projector or dict(type='MultiViewProjectionHead'))
        if projector.get('in_channels') is None:
            projector['in_channels'] = self._infer_backbone_channels()
        self.projector = MODELS.build(projector)
        embed_dims = self.projector.out_channels
        self.embed_dims = embed_dims
        self.view_fusion = MODELS.build(
            self._with_dims(
                view_fusion or dict(type='MeanViewFusion'), embed_dims))
        self.temporal_fusion = MODELS.build(
            self._with_dims(
                temporal_fusion or dict(type='MeanTemporalFusion'),
                embed_dims))

        # Text side.
        self.prompt_bank = None
        self.text_encoder = None
        if text_encoder is not None and classes:
            text_encoder = copy.deepcopy(text_encoder)
            text_encoder['out_channels'] = embed_dims
            self.text_encoder = MODELS.build(text_encoder)
            self.prompt_bank = PromptBank(classes, prompt_family,
                                          intensity_aware_prompts)
        self.intensity_aware_prompts = intensity_aware_prompts

        # Losses: only those the training objective uses, so that every
        # trainable parameter (e.g. the learnable temperature) gets a
        # gradient in 'loss' mode.
        self.loss_mv = self.loss_vl = self.loss_cmr = None
        if predict_mode == 'zero_shot':
            self.loss_mv = MODELS.build(
                loss_mv or dict(type='MultiViewBarlowTwinsLoss'))
            if text_source != 'none':
                self.loss_vl = MODELS.build(
                    loss_vl or dict(type='VisionLanguageContrastiveLoss'))
                self.loss_cmr = MODELS.build(
                    loss_cmr or dict(type='CrossModalRedundancyLoss'))
        self.head = MODELS.build(head) if head is not None else None

        # Pseudo-labels by dataset index (-1 = none yet); resized on demand
        # and on checkpoint loading.
        self.register_buffer('pseudo_labels', torch.zeros(0, dtype=torch.long))
        self._generator = torch.Generator().manual_seed(seed)

        if self.text_encoder is not None and (predict_mode == 'head'
                                              or text_source == 'none'):
            # No training objective reaches the text side: lock it, so that
            # every trainable parameter gets a gradient.
            self.text_encoder.requires_grad_(False)
        if freeze:
            for name, module in self.named_children():
                if name not in ('head', 'data_preprocessor'):
                    module.requires_grad_(False)

    # ------------------------------------------------------------------
    # Building helpers
    # ------------------------------------------------------------------
    @staticmethod
    def _with_dims(cfg: dict, embed_dims: int) -> dict:
        cfg = copy.deepcopy(cfg)
        obj_cls = MODELS.get(cfg['type'])
        if obj_cls is None:
            raise KeyError(f"{cfg['type']} is not registered in MODELS")
        import inspect
        params = inspect.signature(obj_cls.__init__).parameters
        if 'embed_dims' in params and 'embed_dims' not in cfg:
            cfg['embed_dims'] = embed_dims
        return cfg

    @torch.no_grad()
    def _infer_backbone_channels(self) -> int:
        """Width ``D_v`` of the pooled backbone output (a 64 px dummy pass
        in eval mode, so no BN statistics change)."""
        was_training = self.backbone.training
        self.backbone.eval()
        size = 64
        img_size = getattr(self.backbone, 'img_size', None)
        if isinstance(img_size, (tuple, list)):
            size = int(img_size[0])
        elif isinstance(img_size, int):
            size = img_size
        try:
            try:
                out = self.backbone(
                    torch.zeros(1, self.in_channels, size, size))
            except (AssertionError, RuntimeError, ValueError):
                # e.g. Swin without pad_small_map needs >= 7x7 last maps.
                out = self.backbone(torch.zeros(1, self.in_channels, 224, 224))
        finally:
            self.backbone.train(was_training)
        return int(self.neck.pool(out).shape[-1])

    def train(self, mode: bool = True) -> 'SMILEVLM':
        """With ``freeze``, everything but the head stays in eval mode."""
        super().train(mode)
        if self.freeze:
            for name, module in self.named_children():
                if name != 'head':
                    module.eval()
        return self

    @property
    def num_classes(self) -> int:
        """Number of classes (of the prompts, else of the head)."""
        if self.classes:
            return len(self.classes)
        return int(self.head.num_classes)

    # ------------------------------------------------------------------
    # Features
    # ------------------------------------------------------------------
    def extract_feat(
            self, inputs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Fused and per-view joint-space embeddings.

        Args:
            inputs (torch.Tensor): ``(N, V, C, H, W)`` or
                ``(N, T, V, C, H, W)``.

        Returns:
            tuple[Tensor, Tensor]: fused ``(N, D)`` and per-view
            ``(N, V, D)`` embeddings (for sequences the per-view ones are
            fused over frames with the temporal fusion).

        Raises:
            ValueError: If ``inputs`` is neither 5- nor 6-dimensional.
        """
        if inputs.dim() == 5:
            n, v = inputs.shape[:2]
            feats = self.neck(self.backbone(inputs.flatten(0, 1)), num_views=v)
            per_view = self.projector(feats)  # (N, V, D)
            return self.view_fusion(per_view), per_view
        if inputs.dim() == 6:
            n, t, v = inputs.shape[:3]
            feats = self.neck(self.backbone(inputs.flatten(0, 2)), num_views=v)
            z = self.projector(feats).view(n, t, v, -1)
            d = z.shape[-1]
            per_view = self.temporal_fusion(
                z.transpose(1, 2).reshape(n * v, t, d)).view(n, v, d)
            if self.temporal_fusion_order == 'before':
                fused = self.view_fusion(per_view)
            else:
                per_frame = self.view_fusion(z.reshape(n * t, v, d))
                fused = self.temporal_fusion(per_frame.view(n, t, d))
            return fused, per_view
        raise ValueError('SMILEVLM expects inputs (N, V, C, H, W) or '
                         f'(N, T, V, C, H, W), got {tuple(inputs.shape)}')

    def get_view_weights(self) -> Optional[torch.Tensor]:
        """The view fusion's current weights ``(V,)`` (for visualisation)."""
        return self.view_fusion.get_view_weights()

    def prompt_embeddings(self) -> torch.Tensor:
        """Joint-space embeddings ``(P, D)`` of the prompt bank."""
        if self.text_encoder is None:
            raise RuntimeError('this SMILEVLM has no text encoder')
        return self.text_encoder(self.prompt_bank.prompts)

    def class_text_embeddings(self) -> torch.Tensor:
        """Ensembled, L2-normalised class embeddings ``(K, D)``."""
        return self.prompt_bank.ensemble(self.prompt_embeddings())

    # ------------------------------------------------------------------
    # Pseudo-labels
    # ------------------------------------------------------------------
    def set_pseudo_labels(self, indices: Union[torch.Tensor, Sequence[int]],
                          labels: Union[torch.Tensor, Sequence[int]]) -> None:
        """Store pseudo-labels ``labels`` for dataset indices ``indices``.

        Raises:
            ValueError: If the lengths differ or a label is out of range.
        """
        indices = torch.as_tensor(indices, dtype=torch.long).flatten()
        labels = torch.as_tensor(labels, dtype=torch.long).flatten()
        if indices.numel() != labels.numel():
            raise ValueError(f'{indices.numel()} indices but '
                             f'{labels.numel()} labels')
        if labels.numel() and (labels.min() < -1
                               or labels.max() >= self.num_classes):
            raise ValueError(f'pseudo-labels must be in [-1, '
                             f'{self.num_classes})')
        if indices.numel() == 0:
            return
        size = int(indices.max()) + 1
        if size > self.pseudo_labels.numel():
            grown = self.pseudo_labels.new_full((size, ), -1)
            grown[:self.pseudo_labels.numel()] = self.pseudo_labels
            self.pseudo_labels = grown
        self.pseudo_labels[indices.to(self.pseudo_labels.device)] = \
            labels.to(self.pseudo_labels.device)

    def get_pseudo_labels(self, sample_indices: Sequence[int]) -> torch.Tensor:
        """Pseudo-labels ``(N,)`` of dataset indices (-1 where none)."""
        idx = torch.as_tensor(list(sample_indices), dtype=torch.long)
        out = torch.full_like(idx, -1)
        known = idx < self.pseudo_labels.numel()
        out[known] = self.pseudo_labels[idx[known].to(
            self.pseudo_labels.device)].cpu()
        return out

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        key = prefix + 'pseudo_labels'
        if key in state_dict:
            self.pseudo_labels = self.pseudo_labels.new_full(
                state_dict[key].shape, -1)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    # ------------------------------------------------------------------
    # Modes
    # ------------------------------------------------------------------
    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor'):
        """Entry of ``'tensor'`` (``(fused (N, D), per_view (N, V, D))``),
        ``'loss'`` (dict of losses) and ``'predict'`` (list of DataSample).

        Raises:
            RuntimeError: For an unknown ``mode``.
        """
        if mode == 'tensor':
            return self.extract_feat(inputs)
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}".')

    def _text_labels(self, data_samples: List[DataSample],
                     device: torch.device) -> torch.Tensor:
        if data_samples is None:
            raise ValueError(f"text_source={self.text_source!r} needs data "
                             'samples in loss mode')
        if self.text_source == 'label':
            return torch.stack([
                ds.gt_label.reshape(-1)[0] for ds in data_samples
            ]).long().to(device)
        indices = []
        for i, ds in enumerate(data_samples):
            if 'sample_idx' not in ds.metainfo:
                raise ValueError("text_source='pseudo' needs `sample_idx` "
                                 f'in the metainfo of data sample {i}')
            indices.append(int(ds.metainfo['sample_idx']))
        return self.get_pseudo_labels(indices).to(device)

    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        """Losses of a batch (see the class docstring)."""
        fused, per_view = self.extract_feat(inputs)
        if self.predict_mode == 'head':
            losses = self.head.loss((fused, ), data_samples)
            return {
                ('loss_cls' if k == 'loss' else k): v
                for k, v in losses.items()
            }
        losses = dict(loss_mv=self.loss_mv(per_view))
        if self.text_source == 'none':
            return losses

        labels = self._text_labels(data_samples, fused.device)
        prompt_emb = self.prompt_embeddings()  # (P, D)
        valid = labels >= 0
        # Decided on the global count: under DDP every rank must call the
        # same collectives, and the losses accept an empty local batch.
        if int(all_reduce_with_grad(valid.sum().float(), op='sum')) < 2:
            # No (or a single) pseudo-labelled sample yet: zero losses that
            # still touch every text-side parameter.
            zero = prompt_emb.sum() * 0 + fused.sum() * 0
            for p in self.loss_vl.parameters():
                zero = zero + p.sum() * 0
            losses.update(loss_vl=zero, loss_cmr=zero.clone())
            return losses
        idx = valid.nonzero(as_tuple=True)[0]
        labels = labels[idx]
        intensities = None
        if self.intensity_aware_prompts:
            intensities = [
                int(data_samples[i].metainfo.get('intensity', -1))
                for i in idx.tolist()
            ]
        prompt_idx = self.prompt_bank.sample(
            labels, intensities, generator=self._generator)
        text = prompt_emb[prompt_idx]  # (N', D)
        loss_vl = self.vl_fused_weight * self.loss_vl(fused[idx], text, labels)
        if self.vl_view_weight > 0:
            loss_vl = loss_vl + self.vl_view_weight * self.loss_vl(
                per_view[idx], text, labels)
        losses['loss_vl'] = loss_vl
        losses['loss_cmr'] = self.loss_cmr(fused[idx], text)
        return losses

    def _zero_shot_scale(self) -> float:
        if self.zero_shot_logit_scale is not None:
            return float(self.zero_shot_logit_scale)
        if hasattr(self.loss_vl, 'get_logit_scale'):
            return float(self.loss_vl.get_logit_scale().detach())
        return 100.0

    def predict(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None,
                **kwargs) -> List[DataSample]:
        """Predictions with ``pred_score`` ``(K,)``, ``pred_label`` and the
        fused embedding as field ``embedding`` ``(D,)``.

        Zero-shot scores are the softmax of the scaled cosine similarities
        between the fused embedding and the ensembled class prompts.
        """
        fused, _ = self.extract_feat(inputs)
        n = fused.shape[0]
        if data_samples is None:
            data_samples = [DataSample() for _ in range(n)]
        if self.predict_mode == 'head':
            data_samples = self.head.predict((fused, ), data_samples)
        else:
            class_emb = self.class_text_embeddings()
            logits = self._zero_shot_scale() * F.normalize(
                fused, dim=-1) @ class_emb.t()
            scores = logits.softmax(dim=-1)
            labels = scores.argmax(dim=-1, keepdim=True).detach()
            for ds, s, lab in zip(data_samples, scores, labels):
                ds.set_pred_score(s.detach()).set_pred_label(lab)
        for ds, emb in zip(data_samples, fused):
            ds.set_field(emb.detach(), 'embedding', field_type='data')
        return data_samples
