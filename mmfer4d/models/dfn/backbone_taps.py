# Copyright (c) mmfer4d contributors. All rights reserved.
"""Per-layer hidden states of a frozen zoo backbone, by forward hooks."""
from typing import List, Optional, Sequence, Tuple

import torch
from torch import nn


def tap_layer_names(backbone: nn.Module,
                    granularity: str = 'auto') -> List[str]:
    """The names of the modules whose outputs are the backbone's "layers".

    - ResNet family (mmpretrain ``ResNet``, ``ResNetV1c``/``V1d``, ``ResNeXt``
      ...: anything with ``res_layers``): with ``granularity='block'`` every
      residual block (``layer1.0``, ``layer1.1``, ...; 8 for ResNet-18, 16
      for ResNet-50), with ``'stage'`` every stage (``layer1`` ...
      ``layer4``, the maps ``out_indices=(0, 1, 2, 3)`` would return).
    - Transformers with a ``layers`` ``ModuleList`` (mmpretrain
      ``VisionTransformer``, ``DeiT``, ...): every encoder block
      (``layers.0`` ...), tokens ``(B, L, C)``.

    ``'auto'`` is ``'block'`` for ResNets and the blocks for transformers.

    Args:
        backbone (nn.Module): The backbone.
        granularity (str): ``'auto'``, ``'block'`` or ``'stage'``.
            Defaults to ``'auto'``.

    Returns:
        list[str]: Module names, input to output order.

    Raises:
        ValueError: For an unknown ``granularity``, or a backbone of
            neither kind (then give ``layer_names`` explicitly).
    """
    if granularity not in ('auto', 'block', 'stage'):
        raise ValueError("granularity must be 'auto', 'block' or 'stage', "
                         f'got {granularity!r}')
    res_layers = getattr(backbone, 'res_layers', None)
    if res_layers:
        if granularity == 'stage':
            return list(res_layers)
        return [f'{stage}.{i}' for stage in res_layers
                for i in range(len(getattr(backbone, stage)))]
    layers = getattr(backbone, 'layers', None)
    if isinstance(layers, nn.ModuleList) and len(layers) > 0:
        return [f'layers.{i}' for i in range(len(layers))]
    raise ValueError(
        f'cannot find the layers of a {type(backbone).__name__} backbone '
        '(neither ResNet-style res_layers nor a transformer layers '
        'ModuleList); give the module names as layer_names')


def select_layers(num_layers: int,
                  stride: int = 2,
                  indices: Optional[Sequence[int]] = None) -> Tuple[int, ...]:
    """Layer dropping: which of ``num_layers`` layers feed the side network.

    By default every ``stride``-th layer counted back from the last, so the
    last layer is always tapped: ``stride=2`` of 12 ViT-B blocks gives
    ``(1, 3, 5, 7, 9, 11)`` (0-based block indices; 1-based these are
    blocks 2, 4, ..., 12), of ResNet-18's 8 blocks ``(1, 3, 5, 7)``, the
    last block of each stage. IISAN (arXiv 2404.02059) taps its 12-block
    towers at six layers, every other one; its code takes the hidden
    states 1, 3, ..., 11 of 13 (after blocks 1, 3, ..., 11, 1-based),
    which leaves out the final block. Anchoring on the last block is our
    choice, so the side output sees the backbone's final features; pass
    ``indices`` for any other set (e.g. IISAN's exact ``(0, 2, ..., 10)``).

    Args:
        num_layers (int): ``L``.
        stride (int): Keep every ``stride``-th layer. 1 keeps all.
            Defaults to 2.
        indices (Sequence[int], optional): Explicit 0-based indices
            (negative ones count from the end); overrides ``stride``.

    Returns:
        tuple[int]: Sorted 0-based indices.

    Raises:
        ValueError: For ``stride < 1``, empty, repeated or out-of-range
            ``indices``.
    """
    if indices is not None:
        out = []
        for i in indices:
            j = int(i) + num_layers if int(i) < 0 else int(i)
            if not 0 <= j < num_layers:
                raise ValueError(f'layer index {i} out of range for '
                                 f'{num_layers} layers')
            out.append(j)
        if not out or len(set(out)) != len(out):
            raise ValueError(f'layer indices must be non-empty and unique, '
                             f'got {tuple(indices)}')
        return tuple(sorted(out))
    if stride < 1:
        raise ValueError(f'layer stride must be >= 1, got {stride}')
    return tuple(range((num_layers - 1) % stride, num_layers, stride))


def _record(module: nn.Module, args, output) -> None:
    """Forward hook: hand ``output`` to the module's recorder."""
    taps, index = module._dfn_tap
    if taps._active:
        if isinstance(output, (tuple, list)):
            output = output[0]
        taps._outputs[index] = output


class BackboneTaps:
    """Records the outputs of named submodules of a backbone in forward.

    Registers a forward hook on each module; after a forward pass
    :meth:`pop` returns their outputs in the order of ``names`` (a tuple
    output keeps its first element, e.g. a transformer layer returning
    ``(tokens, attn)``) and clears them. Outside :meth:`recording` the hooks
    record nothing, so the backbone runs as usual elsewhere (e.g. in
    ``_infer_backbone_channels``-style dummy passes).

    Args:
        backbone (nn.Module): The backbone.
        names (Sequence[str]): Module names (``named_modules`` keys).

    Raises:
        KeyError: If a name is not a submodule of ``backbone``.
    """

    def __init__(self, backbone: nn.Module, names: Sequence[str]):
        modules = dict(backbone.named_modules())
        missing = [n for n in names if n not in modules]
        if missing:
            raise KeyError(f'{type(backbone).__name__} has no submodules '
                           f'{missing}; it has e.g. '
                           f'{list(modules)[1:8]}')
        self.names = tuple(names)
        self._outputs: List[Optional[torch.Tensor]] = [None] * len(names)
        self._active = False
        self._handles = []
        for i, n in enumerate(self.names):
            # The module names its recorder, not a closure: a deep copy of
            # the model (EMA, model soups) copies both consistently.
            modules[n]._dfn_tap = (self, i)
            self._handles.append(modules[n].register_forward_hook(_record))

    def recording(self) -> 'BackboneTaps':
        """Context manager: record while inside."""
        return self

    def __enter__(self):
        self._outputs = [None] * len(self.names)
        self._active = True
        return self

    def __exit__(self, *exc):
        self._active = False
        return False

    def pop(self) -> List[torch.Tensor]:
        """The recorded outputs, in ``names`` order.

        Raises:
            RuntimeError: If a tapped module did not run.
        """
        outs, self._outputs = self._outputs, [None] * len(self.names)
        missed = [n for n, o in zip(self.names, outs) if o is None]
        if missed:
            raise RuntimeError(f'tapped layers {missed} did not run in the '
                               'backbone forward pass')
        return outs

    def remove(self) -> None:
        """Remove the hooks."""
        for h in self._handles:
            h.remove()
        self._handles = []
