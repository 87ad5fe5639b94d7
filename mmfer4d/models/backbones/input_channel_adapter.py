# Copyright (c) mmfer4d contributors. All rights reserved.
"""Any zoo backbone on any number of rendered channels."""
import copy
import inspect
from typing import Optional

import torch
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule

from mmfer4d.registry import MODELS


def backbone_in_channels(backbone: dict) -> Optional[int]:
    """The input channels a backbone config gives, or the default of its
    class's ``in_channels`` argument; None when the class takes no such
    argument (then it is 3: EfficientNet, MobileNetV3)."""
    if backbone.get('in_channels') is not None:
        return int(backbone['in_channels'])
    obj_type = backbone['type']
    cls = obj_type if inspect.isclass(obj_type) else MODELS.get(obj_type)
    if cls is None:
        raise KeyError(f'{obj_type} is not registered in MODELS')
    param = inspect.signature(cls.__init__).parameters.get('in_channels')
    if param is None or param.default is inspect.Parameter.empty:
        return None
    return int(param.default)


@MODELS.register_module()
class InputChannelAdapter(BaseModule):
    """A 1x1 convolution stem that maps the rendered channels to those a
    zoo backbone takes, then the backbone.

    Renders stack modalities along channels (depth 1 + normal 3 = 4), but
    some zoo backbones take exactly 3 channels (EfficientNet and
    MobileNetV3 have no ``in_channels``) and a pre-trained 3-channel stem
    is better kept than re-initialised. This module puts a learnable
    per-pixel projection ``C_in -> C_b`` in front: ``(B, C_in, H, W) ->
    (B, C_b, H, W)`` with a 1x1 convolution (optionally with norm and
    activation), so any backbone takes any modality stack.
    :class:`~mmfer4d.models.algorithms.BaseMultiViewModel` wraps a
    backbone without ``in_channels`` in it when the renders do not have 3
    channels; configs may use it explicitly::

        backbone=dict(type='InputChannelAdapter',
                      backbone=dict(type='ConvNeXt', arch='atto',
                                    init_cfg=dict(type='Pretrained', ...)))

    Attribute access falls through to the wrapped backbone (e.g.
    ``img_size``), so code that inspects the backbone keeps working.

    Args:
        backbone (dict): The zoo backbone config.
        in_channels (int, optional): ``C_in``, channels of the renders.
            Defaults to None: set by the model from the data preprocessor's
            modalities (as for any backbone with ``in_channels``).
        adapter_channels (int, optional): ``C_b``, the channels the
            backbone takes. Defaults to None: the backbone config's
            ``in_channels``, else its class default, else 3.
        norm_cfg (dict, optional): Norm after the 1x1 convolution, e.g.
            ``dict(type='BN')``. Defaults to None.
        act_cfg (dict, optional): Activation after it. Defaults to None
            (a linear map of the channels).
        init_cfg (dict, optional): Defaults to None.

    Raises:
        ValueError: If ``in_channels`` is None when the module is built
            (nothing set it) or not positive.
    """

    def __init__(self,
                 backbone: dict,
                 in_channels: Optional[int] = None,
                 adapter_channels: Optional[int] = None,
                 norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if in_channels is None or int(in_channels) < 1:
            raise ValueError(
                'InputChannelAdapter needs in_channels >= 1 (the rendered '
                f'channels), got {in_channels!r}; inside a multi-view model '
                'it is set from the data preprocessor\'s modalities')
        backbone = copy.deepcopy(backbone)
        if adapter_channels is None:
            adapter_channels = backbone_in_channels(backbone) or 3
        self.in_channels = int(in_channels)
        self.adapter_channels = int(adapter_channels)
        self.adapter = ConvModule(
            self.in_channels,
            self.adapter_channels,
            kernel_size=1,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)
        self.backbone = MODELS.build(backbone)

    def forward(self, x: torch.Tensor):
        """``(B, C_in, H, W)`` -> the backbone's output on
        ``(B, C_b, H, W)``.

        Raises:
            ValueError: If ``x`` does not have ``C_in`` channels.
        """
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f'InputChannelAdapter expects (B, {self.in_channels}, H, W) '
                f'images, got {tuple(x.shape)}')
        return self.backbone(self.adapter(x))

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            modules = self.__dict__.get('_modules', {})
            if 'backbone' in modules and name not in ('adapter', 'backbone'):
                return getattr(modules['backbone'], name)
            raise
