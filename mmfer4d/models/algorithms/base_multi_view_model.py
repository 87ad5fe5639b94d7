# Copyright (c) mmfer4d contributors. All rights reserved.
"""The vision side every multi-view model shares.

A zoo backbone embeds every rendered view (and frame) of a face, a neck
pools each into a vector, a projector maps it to the embedding space and
the view (and temporal) fusion gives one embedding per face. Methods
subclass :class:`BaseMultiViewModel` and differ only in what they put on
top (a classification head, the SMILE-VLM objectives, ...), as mmpretrain's
classifiers and self-supervisors subclass their bases.
"""
import copy
import inspect
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModel
from mmpretrain.structures import DataSample
from torch import nn

from mmfer4d.registry import MODELS

Feats = Tuple[torch.Tensor, torch.Tensor]


def _registered(cfg: dict):
    """The class a config's ``type`` names (a class, or a registry name)."""
    obj_type = cfg['type']
    if inspect.isclass(obj_type):
        return obj_type
    obj_cls = MODELS.get(obj_type)
    if obj_cls is None:
        raise KeyError(f'{obj_type} is not registered in MODELS')
    return obj_cls


def _accepts(cfg: dict, arg: str) -> bool:
    """Whether the class of ``cfg`` takes the keyword ``arg``."""
    params = inspect.signature(_registered(cfg).__init__).parameters
    return arg in params


class BaseMultiViewModel(BaseModel):
    """Base of models with one backbone shared by all views of a face.

    Inputs are the batched renders of :class:`MultiViewDataPreprocessor`:
    ``(N, V, C, H, W)`` (batch, views, channels, height, width) for scans
    or ``(N, T, V, C, H, W)`` (``T`` frames) for sequences. The stages,
    each a method a subclass can call or override:

    1. :meth:`extract_feat_maps`: the backbone on every image, ``B = N * V``
       (or ``N * T * V``) images ordered sample-major; returns the
       backbone's own output (a tuple of stage feature maps for
       mmpretrain backbones). A method that pools regions of the maps
       (e.g. AU regions with ``roi_align``) starts from here.
    2. :meth:`embed_views`: the neck pools every image's output and
       regroups by view, ``(N', V, D_v)``, and the projector maps it to
       ``(N', V, D)``.
    3. :meth:`fuse`: for scans the view fusion gives ``(N, D)``; for
       sequences the temporal fusion runs ``'before'`` (per view, over the
       frames, then over the views) or ``'after'`` (over the view-fused
       frames) the view fusion.

    :meth:`extract_feat` chains them and returns the fused embedding
    ``(N, D)`` and the per-view embeddings ``(N, V, D)`` (for sequences
    fused over the frames by the temporal fusion).

    **Input channels from the data.** When ``backbone`` has no
    ``in_channels`` and its class takes that argument, it is set to the
    data preprocessor's :attr:`~MultiViewDataPreprocessor.num_channels`,
    i.e. the channels of the rendered ``modalities`` (4 for depth +
    normal). A backbone without the argument (EfficientNet, MobileNetV3)
    takes 3-channel images: for other renders it is wrapped in an
    :class:`~mmfer4d.models.backbones.InputChannelAdapter` (a learnable
    1x1 convolution to 3 channels; a line in the log says so). Give the
    adapter explicitly to keep a pre-trained 3-channel stem of any
    backbone, or to configure it.

    Args:
        backbone (dict): Zoo backbone config, shared by all views.
        neck (dict, optional): Defaults to ``dict(type='MultiViewNeck')``.
        projector (dict, optional): Defaults to
            ``dict(type='MultiViewProjectionHead')``; its ``in_channels``
            (``D_v``) is inferred from the backbone when missing.
        view_fusion (dict, optional): Defaults to
            ``dict(type='MeanViewFusion')``; ``embed_dims`` is filled in
            when the type takes it.
        temporal_fusion (dict, optional): For sequences. Defaults to
            ``dict(type='MeanTemporalFusion')``; ``embed_dims`` is filled
            in when the type takes it.
        temporal_fusion_order (str): ``'before'`` or ``'after'`` the view
            fusion. Defaults to ``'before'``.
        data_preprocessor (dict | nn.Module, optional): Defaults to
            ``dict(type='MultiViewDataPreprocessor')``. Configs set it at
            the top level of the data-set base config (next to the
            pipelines), where mmengine's ``Runner`` merges it into the
            model.
        init_cfg (dict, optional): Initialisation config, e.g.
            ``dict(type='Pretrained', checkpoint=...)``. Defaults to None.

    Raises:
        ValueError: For an unknown ``temporal_fusion_order``, or a backbone
            whose input channels disagree with the rendered modalities.
        TypeError: If the backbone config has keys its class does not take
            (the message gives the ``_delete_`` recipe).
        KeyError: If a part's ``type`` is not registered.
    """

    def __init__(self,
                 backbone: dict,
                 neck: Optional[dict] = None,
                 projector: Optional[dict] = None,
                 view_fusion: Optional[dict] = None,
                 temporal_fusion: Optional[dict] = None,
                 temporal_fusion_order: str = 'before',
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[dict] = None):
        if temporal_fusion_order not in ('before', 'after'):
            raise ValueError("temporal_fusion_order must be 'before' or "
                             f"'after', got {temporal_fusion_order!r}")
        if data_preprocessor is None:
            data_preprocessor = dict(type='MultiViewDataPreprocessor')
        elif isinstance(data_preprocessor, dict):
            data_preprocessor = dict(data_preprocessor)
            data_preprocessor.setdefault('type', 'MultiViewDataPreprocessor')
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.temporal_fusion_order = temporal_fusion_order
        self._frozen: Tuple[str, ...] = ()

        backbone = self._with_in_channels(backbone)
        self.in_channels = backbone.get('in_channels', 3)
        self.backbone = self._build_backbone(backbone)
        self.neck = MODELS.build(neck or dict(type='MultiViewNeck'))
        projector = copy.deepcopy(
            projector or dict(type='MultiViewProjectionHead'))
        if projector.get('in_channels') is None:
            projector['in_channels'] = self._infer_backbone_channels()
        self.projector = MODELS.build(projector)
        self.embed_dims = self.projector.out_channels
        self.view_fusion = MODELS.build(
            self._with_dims(view_fusion or dict(type='MeanViewFusion')))
        self.temporal_fusion = MODELS.build(
            self._with_dims(temporal_fusion
                            or dict(type='MeanTemporalFusion')))

    # ------------------------------------------------------------------
    # Building
    # ------------------------------------------------------------------
    def _with_in_channels(self, backbone: dict) -> dict:
        """``backbone`` with ``in_channels`` from the rendered modalities."""
        backbone = copy.deepcopy(backbone)
        channels = getattr(self.data_preprocessor, 'num_channels', None)
        given = backbone.get('in_channels')
        name = backbone['type']
        if not _accepts(backbone, 'in_channels'):
            if channels is not None and channels != 3:
                # A 1x1 convolution maps the renders to its 3 channels.
                print_log(
                    f'backbone {name} takes 3-channel images and the '
                    f'renders have {channels} (modalities '
                    f'{tuple(self.data_preprocessor.modalities)}): an '
                    'InputChannelAdapter (1x1 convolution) maps them',
                    logger='current')
                backbone = dict(type='InputChannelAdapter',
                                backbone=backbone, in_channels=channels)
        elif given is None and channels is not None:
            backbone['in_channels'] = channels
        elif given is not None and channels is not None \
                and int(given) != channels:
            raise ValueError(
                f'backbone in_channels={given}, but the data preprocessor '
                f'gives {channels} channels; leave in_channels out of the '
                'backbone config to follow the rendered modalities')
        return backbone

    @staticmethod
    def _build_backbone(backbone: dict) -> nn.Module:
        """``MODELS.build``; a keyword the class does not take (one
        inherited from the backbone the config replaced) gets the recipe.

        Raises:
            TypeError: For an unexpected keyword, saying how to swap a
                backbone whole.
        """
        try:
            return MODELS.build(backbone)
        except TypeError as err:
            if 'unexpected keyword' not in str(err):
                raise
            name = backbone['type']
            name = getattr(name, '__name__', name)
            raise TypeError(
                f'{err}. The backbone config {dict(backbone)} keeps keys of '
                f'the backbone it replaced; swap it whole: on the command '
                f'line --cfg-options model.backbone._delete_=True '
                f'model.backbone.type={name} model.backbone.arch=..., in a '
                f'config backbone=dict(_delete_=True, type={name!r}, ...)'
            ) from err

    def _with_dims(self, cfg: dict) -> dict:
        """``cfg`` with ``embed_dims`` filled in when its type takes it."""
        cfg = copy.deepcopy(cfg)
        if _accepts(cfg, 'embed_dims') and 'embed_dims' not in cfg:
            cfg['embed_dims'] = self.embed_dims
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

    def init_weights(self) -> None:
        """Initialise; an ``init_cfg`` of type ``'Pretrained'`` is loaded
        by :func:`~mmfer4d.models.utils.load_pretrained`, which summarises
        the key differences in one line (mmengine's lists every key)."""
        cfg = self.init_cfg
        if not (isinstance(cfg, dict) and cfg.get('type') == 'Pretrained'):
            super().init_weights()
            return
        self.init_cfg = None
        try:
            super().init_weights()
        finally:
            self.init_cfg = cfg
        from mmfer4d.models.utils import load_pretrained
        load_pretrained(self, cfg['checkpoint'], prefix=cfg.get('prefix'),
                        map_location=cfg.get('map_location', 'cpu'),
                        frozen=self._frozen)

    def freeze_all_but(self, trainable: Sequence[str]) -> None:
        """Lock every child module except ``trainable`` (by attribute name)
        and the data preprocessor: no gradients, and :meth:`train` keeps
        them in eval mode (frozen BN statistics), as a linear probe needs.
        """
        self._frozen = tuple(name for name, _ in self.named_children()
                             if name not in (*trainable, 'data_preprocessor'))
        for name in self._frozen:
            getattr(self, name).requires_grad_(False)

    def train(self, mode: bool = True) -> 'BaseMultiViewModel':
        """Frozen parts (:meth:`freeze_all_but`) stay in eval mode."""
        super().train(mode)
        for name in self._frozen:
            getattr(self, name).eval()
        return self

    # ------------------------------------------------------------------
    # Features
    # ------------------------------------------------------------------
    def extract_feat_maps(self, inputs: torch.Tensor):
        """The backbone on every view (and frame) image.

        Args:
            inputs (torch.Tensor): ``(N, V, C, H, W)`` or
                ``(N, T, V, C, H, W)``.

        Returns:
            The backbone's output for the ``B = N * V`` (``N * T * V``)
            images ``(B, C, H, W)``, sample-major (all views of a sample's
            first frame first): for mmpretrain backbones a tuple of stage
            outputs, e.g. feature maps ``(B, C_s, h_s, w_s)``.

        Raises:
            ValueError: If ``inputs`` is neither 5- nor 6-dimensional.
        """
        if inputs.dim() not in (5, 6):
            raise ValueError(f'{type(self).__name__} expects inputs '
                             '(N, V, C, H, W) or (N, T, V, C, H, W), got '
                             f'{tuple(inputs.shape)}')
        return self.backbone(inputs.flatten(0, inputs.dim() - 4))

    def embed_views(self, feat_maps, num_views: int) -> torch.Tensor:
        """Pool and project the backbone output of every image.

        Args:
            feat_maps: What :meth:`extract_feat_maps` returned.
            num_views (int): ``V``.

        Returns:
            torch.Tensor: ``(N', V, D)``, ``N' = N`` (or ``N * T``).
        """
        return self.projector(self.neck(feat_maps, num_views=num_views))

    def fuse(self, z: torch.Tensor, num_frames: Optional[int] = None) -> Feats:
        """Fuse per-view embeddings into one embedding per face.

        Args:
            z (torch.Tensor): ``(N, V, D)``, or ``(N * T, V, D)`` with
                ``num_frames=T``.
            num_frames (int, optional): ``T`` for sequences. Defaults to
                None (scans).

        Returns:
            tuple[Tensor, Tensor]: fused ``(N, D)`` and per-view
            ``(N, V, D)`` embeddings (for sequences the per-view ones are
            fused over the frames by the temporal fusion).
        """
        if num_frames is None:
            return self.view_fusion(z), z
        t = num_frames
        v, d = z.shape[-2:]
        n = z.shape[0] // t
        z = z.view(n, t, v, d)
        per_view = self.temporal_fusion(
            z.transpose(1, 2).reshape(n * v, t, d)).view(n, v, d)
        if self.temporal_fusion_order == 'before':
            fused = self.view_fusion(per_view)
        else:
            per_frame = self.view_fusion(z.reshape(n * t, v, d))
            fused = self.temporal_fusion(per_frame.view(n, t, d))
        return fused, per_view

    def extract_feat(self, inputs: torch.Tensor) -> Feats:
        """Fused ``(N, D)`` and per-view ``(N, V, D)`` embeddings.

        Args:
            inputs (torch.Tensor): ``(N, V, C, H, W)`` or
                ``(N, T, V, C, H, W)``.

        Returns:
            tuple[Tensor, Tensor]: see :meth:`fuse`.

        Raises:
            ValueError: If ``inputs`` is neither 5- nor 6-dimensional.
        """
        feat_maps = self.extract_feat_maps(inputs)
        z = self.embed_views(feat_maps, num_views=inputs.shape[-4])
        return self.fuse(z, inputs.shape[1] if inputs.dim() == 6 else None)

    def get_view_weights(self) -> Optional[torch.Tensor]:
        """The view fusion's current weights ``(V,)`` (for visualisation;
        see :func:`mmfer4d.visualization.get_view_weights`)."""
        return self.view_fusion.get_view_weights()

    @staticmethod
    def with_embeddings(data_samples: List[DataSample],
                        fused: torch.Tensor) -> List[DataSample]:
        """Store every sample's fused embedding ``(D,)`` as its field
        ``embedding`` (read by clustering metrics and t-SNE plots)."""
        for ds, emb in zip(data_samples, fused):
            ds.set_field(emb.detach(), 'embedding', field_type='data')
        return data_samples

    # ------------------------------------------------------------------
    # Modes
    # ------------------------------------------------------------------
    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor'):
        """Entry of ``'tensor'`` (:meth:`extract_feat`), ``'loss'`` (dict
        of losses) and ``'predict'`` (list of DataSample).

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
             data_samples: List[DataSample]) -> dict:
        """Named losses of a batch; subclasses implement it."""
        raise NotImplementedError

    def predict(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None,
                **kwargs) -> List[DataSample]:
        """Predictions of a batch; subclasses implement it."""
        raise NotImplementedError
