# Copyright (c) mmfer4d contributors. All rights reserved.
"""Losses that must not run in half precision."""
import torch


def at_least_float32(x: torch.Tensor) -> torch.Tensor:
    """``x`` cast to float32 if it is float16 or bfloat16, else unchanged.

    The losses call it inside ``torch.autocast(..., enabled=False)``, so
    that sums of many squared correlations or exponentials of scaled
    logits run in float32 also when the model runs under autocast, while
    float64 inputs (tests against references) stay float64.

    Args:
        x (torch.Tensor): Any tensor.

    Returns:
        torch.Tensor: ``x`` or its float32 copy.
    """
    if x.dtype in (torch.float16, torch.bfloat16):
        return x.float()
    return x
