# Copyright (c) mmfer4d contributors. All rights reserved.
"""Per-view weight summary of a multiview fusion module."""
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from .plots import plot_bar_chart


def find_view_weight_module(model: nn.Module) -> Tuple[str, nn.Module]:
    """The first sub-module (the model itself included) that exposes
    ``get_view_weights()``, as SMILE-VLM's view-aware fusion does.

    Args:
        model (nn.Module): A built model.

    Returns:
        tuple[str, nn.Module]: Its dotted name (``''`` for the model) and
        the module.

    Raises:
        ValueError: If no sub-module has ``get_view_weights``.
    """
    for name, module in model.named_modules():
        if callable(getattr(module, 'get_view_weights', None)):
            return name, module
    raise ValueError(f'{type(model).__name__} has no sub-module with a '
                     '`get_view_weights()` method (a view-aware fusion '
                     'module); nothing to summarise')


def view_weights_of(model: nn.Module) -> np.ndarray:
    """``get_view_weights()`` of the model's fusion module, as ``(V,)``.

    Weights returned per sample or per head (``(..., V)``) are averaged
    over the leading axes.

    Raises:
        ValueError: If the model has no view fusion module, or its weights
            depend on the input and no forward has run yet.
    """
    name, module = find_view_weight_module(model)
    with torch.no_grad():
        weights = module.get_view_weights()
    if weights is None:
        raise ValueError(f'{type(module).__name__} ({name or "the model"}) '
                         'has no view weights before a forward (they '
                         'depend on the input)')
    if isinstance(weights, torch.Tensor):
        weights = weights.detach().float().cpu().numpy()
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim == 0:
        raise ValueError('get_view_weights() returned a scalar; expected '
                         '(..., V) weights')
    return weights.reshape(-1, weights.shape[-1]).mean(axis=0)


def view_weight_table(weights: Sequence[float],
                      view_names: Optional[Sequence[str]] = None) -> str:
    """A Markdown table of per-view weights and their share of the total.

    Args:
        weights (Sequence[float]): ``(V,)`` weights.
        view_names (Sequence[str], optional): Names of the V views (e.g.
            ``'yaw=-45'``). Defaults to ``view0, view1, ...``.

    Returns:
        str: The table.

    Raises:
        ValueError: If the number of names differs from V.
    """
    weights = np.asarray(weights, dtype=np.float64).reshape(-1)
    names = _names(weights, view_names)
    total = weights.sum()
    lines = ['| View | Weight | Share (%) |', '| --- | ---: | ---: |']
    for name, w in zip(names, weights):
        share = 100.0 * w / total if total else float('nan')
        lines.append(f'| {name} | {w:.4f} | {share:.1f} |')
    return '\n'.join(lines)


def plot_view_weights(weights: Sequence[float],
                      view_names: Optional[Sequence[str]] = None,
                      out_file: str = 'view_weights.png') -> str:
    """Bar chart of per-view weights (PNG)."""
    weights = np.asarray(weights, dtype=np.float64).reshape(-1)
    return plot_bar_chart(
        _names(weights, view_names), list(weights), out_file,
        ylabel='weight', title='Per-view fusion weights')


def _names(weights: np.ndarray, view_names) -> list:
    if view_names is None:
        return [f'view{i}' for i in range(len(weights))]
    if len(view_names) != len(weights):
        raise ValueError(f'{len(view_names)} view names for '
                         f'{len(weights)} view weights')
    return [str(n) for n in view_names]


def view_weights_from_checkpoint(cfg, checkpoint: str) -> np.ndarray:
    """The view weights of a trained model, read without any forward.

    The model is built from the whole config as the Runner builds it
    (:func:`mmfer4d.models.utils.build_model_from_cfg`), the checkpoint is
    loaded with mmengine's ``load_checkpoint`` (mmfer4d's allow-listed
    loader) and :func:`view_weights_of` reads its fusion module; learnable
    weights are available this way, input-dependent (attention) weights
    are not (``tools/analysis_tools/view_weights.py --num-batches`` averages
    those over test batches).

    Args:
        cfg (mmengine.Config): The config the checkpoint was trained with.
        checkpoint (str): Its path.

    Returns:
        np.ndarray: ``(V,)`` weights.

    Raises:
        ValueError: If the model has no view fusion with weights before a
            forward.
    """
    from mmengine.runner import load_checkpoint

    from mmfer4d.models.utils import build_model_from_cfg
    model = build_model_from_cfg(cfg)
    load_checkpoint(model, checkpoint, map_location='cpu', logger='current')
    return view_weights_of(model)
