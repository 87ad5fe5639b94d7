# Copyright (c) mmfer4d contributors. All rights reserved.
"""The Decoupled Fine-tuning Network (DFN) and its full fine-tuning twin.

MF² (Zheng et al., arXiv 2504.10351) adapts its face model to other tasks
with a "Decoupled Fine-Tuning Network"; only the abstract is public. We
read it as the same group's IISAN (Fu et al., SIGIR 2024, arXiv
2404.02059): the pretrained backbone stays frozen and runs without
gradients, a light side network of adapter blocks reads its per-layer
hidden states, and the task head sits on the side network's output. Only
the side network and the head train and keep activations for backward, so
training memory and the trainable parameters drop.
"""
import copy
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.model import BaseModel
from mmpretrain.structures import DataSample
from torch import nn

from mmfer4d.models.algorithms.base_multi_view_model import (
    BaseMultiViewModel, _accepts)
from mmfer4d.registry import MODELS

from .backbone_taps import BackboneTaps, select_layers, tap_layer_names


@MODELS.register_module()
class DecoupledFineTuner(BaseModel):
    """Decoupled fine-tuning: a frozen backbone, a trained side network and
    task head (IISAN-style DFN).

    Inputs are images ``(N, C, H, W)`` (2D faces, zoo data), multi-view
    renders ``(N, V, C, H, W)`` (batch, views, channels, height, width) or
    sequences ``(N, T, V, C, H, W)`` (``T`` frames). Every image runs
    through the frozen ``backbone`` under ``torch.no_grad()`` in eval mode
    (frozen BN statistics, no dropout); forward hooks collect the hidden
    states of the tapped layers (:func:`select_layers`: every other layer,
    ending at the last, by default), the :class:`SideNetwork` turns them
    into one output per image, the ``neck`` pools it into ``(B, C_K)``, and
    views are fused as :class:`BaseMultiViewModel` fuses them (``neck``
    regroups ``(N, V, C_K)``, ``view_fusion`` gives ``(N, C_K)``); frames
    are averaged after the view fusion (our choice). The ``head`` owns the
    loss and the prediction: ``LinearClsHead`` (cross-entropy, expression
    classes) or :class:`DFNAUHead` (multi-label AU detection with BCE).

    The backbone's weights come from a pretrained model through ``init_cfg``
    (``dict(type='Pretrained', checkpoint=...)``) or the config's
    ``load_from``: the ``backbone.*`` keys of a SMILE-VLM, MF² or
    multi-view CE checkpoint load as they are; the side network and head
    start fresh (reported as missing keys).

    Training returns the head's losses (``loss`` renamed ``loss_cls``);
    prediction gives the head's fields (``pred_score`` / ``pred_label``, or
    ``pred_au_score``) and the pooled ``embedding`` ``(C_K,)``.

    Args:
        backbone (dict): Zoo backbone config (``ResNet``,
            ``VisionTransformer``, ...). When it has no ``in_channels``
            and its class takes one, it follows the data preprocessor's
            rendered modalities, as in :class:`BaseMultiViewModel`.
        head (dict): Task head on ``(N, C_K)``; ``in_channels`` is filled
            in when missing.
        side (dict, optional): Keyword arguments of :class:`SideNetwork`
            (``down_channels=64``, ``gate_temperature=0.1``, ...; its
            ``channels`` come from the backbone). Defaults to None (all
            defaults).
        layer_names (Sequence[str], optional): The backbone modules that
            count as layers. Defaults to None (:func:`tap_layer_names`).
        layer_granularity (str): ``'auto'``, ``'block'`` or ``'stage'``
            (:func:`tap_layer_names`). Defaults to ``'auto'``.
        layer_stride (int): Layer dropping: tap every ``layer_stride``-th
            layer, ending at the last. Defaults to 2 (IISAN's every other
            layer).
        layer_indices (Sequence[int], optional): Explicit layers to tap
            (0-based; overrides ``layer_stride``). Defaults to None.
        neck (dict, optional): Pooling of the side output. Defaults to
            ``dict(type='MultiViewNeck')`` (global average / token mean).
        view_fusion (dict, optional): Defaults to
            ``dict(type='MeanViewFusion')``; ``embed_dims`` is filled in
            when the type takes it.
        probe_size (int): Side length (px) of the dummy image that reads
            the tapped layers' widths at build time. Defaults to 64 (the
            backbone's ``img_size`` when it has one).
        data_preprocessor (dict | nn.Module, optional): Defaults to
            ``dict(type='MultiViewDataPreprocessor')``.
        init_cfg (dict, optional): E.g. ``dict(type='Pretrained',
            checkpoint=...)``. Defaults to None.

    Raises:
        ValueError: For a backbone whose layers cannot be found (give
            ``layer_names``), bad layer indices, or inputs of another rank.
        KeyError: If a part's ``type`` is not registered, or a layer name
            is not a backbone submodule.
    """

    #: Whether the backbone is frozen and read by a side network.
    decoupled = True

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 side: Optional[dict] = None,
                 layer_names: Optional[Sequence[str]] = None,
                 layer_granularity: str = 'auto',
                 layer_stride: int = 2,
                 layer_indices: Optional[Sequence[int]] = None,
                 neck: Optional[dict] = None,
                 view_fusion: Optional[dict] = None,
                 probe_size: int = 64,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[dict] = None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='MultiViewDataPreprocessor')
        elif isinstance(data_preprocessor, dict):
            data_preprocessor = dict(data_preprocessor)
            data_preprocessor.setdefault('type', 'MultiViewDataPreprocessor')
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        # The same rule as the multi-view models: input channels follow
        # the rendered modalities.
        backbone = BaseMultiViewModel._with_in_channels(self, backbone)
        self.in_channels = backbone.get('in_channels', 3)
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck or dict(type='MultiViewNeck'))
        self.probe_size = int(probe_size)

        self.tap_names: tuple = ()
        self.side = None
        if self.decoupled:
            names = list(layer_names) if layer_names is not None else \
                tap_layer_names(self.backbone, layer_granularity)
            index = select_layers(len(names), layer_stride, layer_indices)
            self.tap_names = tuple(names[i] for i in index)
            self._taps = BackboneTaps(self.backbone, self.tap_names)
            widths = self._probe_widths()
            self.side = MODELS.build(
                dict(dict(type='SideNetwork'), **(side or {}),
                     channels=widths))
            self.backbone.requires_grad_(False)
            self.backbone.eval()
        self.feat_channels = self._feature_channels()

        view_fusion = copy.deepcopy(view_fusion
                                    or dict(type='MeanViewFusion'))
        if _accepts(view_fusion, 'embed_dims') \
                and 'embed_dims' not in view_fusion:
            view_fusion['embed_dims'] = self.feat_channels
        self.view_fusion = MODELS.build(view_fusion)
        head = copy.deepcopy(head)
        if head.get('in_channels') is None and _accepts(head, 'in_channels'):
            head['in_channels'] = self.feat_channels
        self.head = MODELS.build(head)

    # ------------------------------------------------------------------
    # Building
    # ------------------------------------------------------------------
    def _probe_input(self) -> torch.Tensor:
        size = self.probe_size
        img_size = getattr(self.backbone, 'img_size', None)
        if isinstance(img_size, (tuple, list)):
            size = int(img_size[0])
        elif isinstance(img_size, int):
            size = img_size
        return torch.zeros(1, self.in_channels, size, size)

    @torch.no_grad()
    def _probe_widths(self) -> List[int]:
        """Channel widths of the tapped hidden states (a dummy pass)."""
        was_training = self.backbone.training
        self.backbone.eval()
        try:
            hidden = self._hidden_states(self._probe_input())
        finally:
            self.backbone.train(was_training)
        return [int(h.shape[1] if h.dim() == 4 else h.shape[-1])
                for h in hidden]

    @torch.no_grad()
    def _feature_channels(self) -> int:
        """Width ``C_K`` of the pooled features the head reads."""
        was_training = self.training
        self.eval()
        try:
            out = self.image_features(self._probe_input())
        finally:
            self.train(was_training)
        return int(out.shape[-1])

    def init_weights(self) -> None:
        """Initialise, refusing a ``Pretrained`` backbone ``init_cfg``
        without a checkpoint (a frozen random backbone would train
        silently).

        Raises:
            ValueError: If ``backbone.init_cfg`` is ``Pretrained`` with
                ``checkpoint=None``.
        """
        init_cfg = getattr(self.backbone, 'init_cfg', None)
        for item in init_cfg if isinstance(init_cfg, list) else [init_cfg]:
            if isinstance(item, dict) and item.get('type') == 'Pretrained' \
                    and item.get('checkpoint') is None:
                raise ValueError(
                    f'{type(self).__name__}: backbone.init_cfg is Pretrained '
                    'with checkpoint=None; set model.backbone.init_cfg.'
                    'checkpoint to the pretrained model (e.g. a SMILE-VLM, '
                    'MF² or multi-view CE checkpoint), or drop the init_cfg '
                    'to start from a random backbone')
        super().init_weights()

    def train(self, mode: bool = True) -> 'DecoupledFineTuner':
        """The frozen backbone stays in eval mode."""
        super().train(mode)
        if self.decoupled:
            self.backbone.eval()
        return self

    # ------------------------------------------------------------------
    # Features
    # ------------------------------------------------------------------
    def _hidden_states(self, images: torch.Tensor) -> List[torch.Tensor]:
        """The tapped hidden states of ``images`` ``(B, C, H, W)``,
        computed without gradients (nothing of the backbone is kept for
        backward)."""
        with torch.no_grad(), self._taps:
            self.backbone(images)
        return self._taps.pop()

    def image_features(self, images: torch.Tensor) -> torch.Tensor:
        """Pooled features ``(B, C_K)`` of images ``(B, C, H, W)``: the
        side network's output on the frozen backbone's hidden states."""
        return self.neck.pool(self.side(self._hidden_states(images)))

    def extract_feat(self, inputs: torch.Tensor) -> torch.Tensor:
        """One feature ``(N, C_K)`` per sample.

        Args:
            inputs (torch.Tensor): ``(N, C, H, W)``, ``(N, V, C, H, W)`` or
                ``(N, T, V, C, H, W)``.

        Raises:
            ValueError: For inputs of another rank.
        """
        if inputs.dim() == 4:
            return self.image_features(inputs)
        if inputs.dim() not in (5, 6):
            raise ValueError(f'{type(self).__name__} expects inputs '
                             '(N, C, H, W), (N, V, C, H, W) or '
                             f'(N, T, V, C, H, W), got {tuple(inputs.shape)}')
        n, v = inputs.shape[0], inputs.shape[-4]
        feats = self.image_features(inputs.flatten(0, inputs.dim() - 4))
        fused = self.view_fusion(feats.view(-1, v, feats.shape[-1]))
        return fused.view(n, -1, fused.shape[-1]).mean(dim=1)

    # ------------------------------------------------------------------
    # Modes
    # ------------------------------------------------------------------
    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor'):
        """``'tensor'`` (features ``(N, C_K)``), ``'loss'`` or
        ``'predict'``.

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

    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        """The head's losses (``loss`` renamed ``loss_cls``)."""
        losses = self.head.loss((self.extract_feat(inputs), ), data_samples)
        return {('loss_cls' if k == 'loss' else k): v
                for k, v in losses.items()}

    def predict(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None,
                **kwargs) -> List[DataSample]:
        """The head's predictions and the ``embedding`` ``(C_K,)``."""
        feats = self.extract_feat(inputs)
        if data_samples is None:
            data_samples = [DataSample() for _ in range(feats.shape[0])]
        data_samples = self.head.predict((feats, ), data_samples, **kwargs)
        return BaseMultiViewModel.with_embeddings(data_samples, feats)


@MODELS.register_module()
class FullFineTuner(DecoupledFineTuner):
    """Full fine-tuning on the same task and input, the DFN's baseline.

    The same backbone, pooling, view fusion and head as
    :class:`DecoupledFineTuner`, without a side network: every backbone
    parameter trains (BN in train mode) and the head reads the pooled
    final backbone output. The ``side`` and ``layer_*`` arguments are
    accepted so that one config can switch between the two by ``type``,
    and are ignored.
    """

    decoupled = False

    def image_features(self, images: torch.Tensor) -> torch.Tensor:
        """Pooled final backbone output ``(B, C)``, with gradients."""
        return self.neck.pool(self.backbone(images))
