# Copyright (c) mmfer4d contributors. All rights reserved.
"""bfloat16 mixed precision for training, on CPUs and GPUs alike."""
from contextlib import contextmanager
from typing import Union

import torch
from mmengine.logging import print_log
from mmengine.optim import OptimWrapper
from torch import nn

from mmfer4d.registry import OPTIM_WRAPPERS


def native_bfloat16(device_type: str) -> bool:
    """Whether ``device_type`` computes bfloat16 in hardware.

    CUDA: ``torch.cuda.is_bf16_supported()`` (Ampere and later). CPU:
    oneDNN's bfloat16 kernels, which need AVX512-BF16 or AMX; other CPUs
    emulate bfloat16 and are slower with it than in float32.

    Args:
        device_type (str): ``'cpu'`` or ``'cuda'``; others give False.

    Returns:
        bool: True where bfloat16 autocast is expected to pay off.
    """
    if device_type == 'cuda':
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device_type == 'cpu':
        try:
            return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):
            return False
    return False


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """Train under bfloat16 autocast, without a loss scaler, also on CPU.

    mmengine's ``AmpOptimWrapper`` refuses to be built without a CUDA, NPU,
    MLU or MUSA device and always builds a ``GradScaler``. bfloat16 has
    float32's exponent range, so its gradients need no scaling, and on a
    CPU with AVX512-BF16 or AMX (oneDNN) it speeds up convolutions: on this
    project's 2-core CPU one single-thread training step of the ``make
    demo`` model (ResNet-18 w16, batch 32 x 3 views, 96 px, channels-last)
    took 0.164 s instead of 0.234 s (README, "`make demo` wall time").

    :meth:`optim_context` (which mmengine's ``BaseModel.train_step`` enters
    around the data preprocessor and the forward in ``'loss'`` mode) adds
    ``torch.autocast(device_type, dtype=torch.bfloat16)`` on the device of
    the model's parameters. Parameters, gradients and optimizer states
    stay float32; the losses of this package compute in float32 inside
    autocast (Barlow Twins, cross-modal redundancy, vision-language
    contrastive). Validation and testing are not affected (mmengine's loops
    autocast only with their own ``fp16=True``).

    Args:
        optimizer (torch.optim.Optimizer): The optimizer.
        dtype (str): Autocast type; only ``'bfloat16'`` (float16 needs a
            loss scaler: use mmengine's ``AmpOptimWrapper`` on GPUs).
            Defaults to ``'bfloat16'``.
        enabled (bool | str): True, False, or ``'auto'``: on where
            :func:`native_bfloat16` says the device computes bfloat16 in
            hardware, float32 elsewhere (logged once). Defaults to
            ``'auto'``.
        **kwargs: ``OptimWrapper``'s (``accumulative_counts``,
            ``clip_grad``).

    Raises:
        ValueError: If ``dtype`` is not ``'bfloat16'`` or ``enabled`` is
            not a bool or ``'auto'``.
    """

    def __init__(self,
                 optimizer: torch.optim.Optimizer,
                 dtype: str = 'bfloat16',
                 enabled: Union[bool, str] = 'auto',
                 **kwargs) -> None:
        if dtype != 'bfloat16':
            raise ValueError(
                f"AutocastOptimWrapper: dtype must be 'bfloat16', got "
                f"{dtype!r}; float16 needs a loss scaler: use mmengine's "
                "AmpOptimWrapper (GPU)")
        if not (isinstance(enabled, bool) or enabled == 'auto'):
            raise ValueError("AutocastOptimWrapper: enabled must be True, "
                             f"False or 'auto', got {enabled!r}")
        super().__init__(optimizer, **kwargs)
        self.dtype = dtype
        self.enabled = enabled
        self._decided = {}

    def autocast_enabled(self, device_type: str) -> bool:
        """Whether the forward on ``device_type`` runs under autocast."""
        if device_type not in self._decided:
            on = (native_bfloat16(device_type)
                  if self.enabled == 'auto' else self.enabled)
            self._decided[device_type] = on
            why = (' (enabled=auto: no native bfloat16 on this device)'
                   if self.enabled == 'auto' and not on else '')
            print_log(
                f'AutocastOptimWrapper: training forward on {device_type} '
                f'in {"bfloat16 autocast" if on else "float32"}{why}',
                logger='current')
        return self._decided[device_type]

    @contextmanager
    def optim_context(self, model: nn.Module):
        """``OptimWrapper.optim_context`` plus bfloat16 autocast."""
        param = next(model.parameters(), None)
        device_type = 'cpu' if param is None else param.device.type
        with super().optim_context(model), torch.autocast(
                device_type=device_type,
                dtype=torch.bfloat16,
                enabled=self.autocast_enabled(device_type)):
            yield
