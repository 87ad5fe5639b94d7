# Copyright (c) mmfer4d contributors. All rights reserved.
"""Building a model from a whole config, as mmengine's Runner does."""
import copy

from torch import nn


def model_cfg_with_preprocessor(cfg):
    """The ``model`` section of ``cfg`` with the config's top-level
    ``data_preprocessor`` merged in where the model sets none.

    mmengine's Runner gives the model the top-level ``data_preprocessor``
    (mmpretrain's convention); our data-set bases put the rendered
    modalities there, which set the model's input channels. Tools that build
    a model outside a Runner must do the same.

    Args:
        cfg (mmengine.Config): A whole config.

    Returns:
        ConfigDict: A copy of ``cfg.model``.
    """
    model_cfg = copy.deepcopy(cfg.model)
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor',
                             copy.deepcopy(cfg.data_preprocessor))
    return model_cfg


def build_model_from_cfg(cfg) -> nn.Module:
    """Build ``cfg.model`` from the ``mmfer4d`` registry with the config's
    top-level ``data_preprocessor`` (see
    :func:`model_cfg_with_preprocessor`)."""
    from mmfer4d.registry import MODELS
    return MODELS.build(model_cfg_with_preprocessor(cfg))
