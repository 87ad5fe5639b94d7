# Copyright (c) mmfer4d contributors. All rights reserved.
"""Start a model from a checkpoint of another model, in one log line."""
import logging
from collections import Counter
from typing import Iterable, Optional, Sequence

from mmengine.logging import print_log
from torch import nn

__all__ = ['load_pretrained', 'summarize_keys']


def summarize_keys(keys: Iterable[str], limit: int = 4) -> str:
    """``'text_encoder.* 150, _extra_state 1'``: keys counted by their first
    name, the largest groups first (at most ``limit`` groups, then
    ``'+N more'``)."""
    groups = Counter(k.split('.', 1)[0] + ('.*' if '.' in k else '')
                     for k in keys)
    parts = [f'{g} {n}' for g, n in groups.most_common(limit)]
    if len(groups) > limit:
        parts.append(f'+{len(groups) - limit} more')
    return ', '.join(parts)


def load_pretrained(model: nn.Module,
                    checkpoint: str,
                    prefix: Optional[str] = None,
                    map_location: str = 'cpu',
                    frozen: Sequence[str] = ()) -> dict:
    """Load the tensors of ``checkpoint`` that ``model`` has; log one line.

    What mmengine's ``PretrainedInit`` does (``strict=False``), with the
    key differences summarised instead of listed one by one: a probe
    started from a SMILE-VLM checkpoint expects the text-side keys to be
    unused and the head's to be missing. Missing keys in ``frozen`` parts
    (which would stay at their random values for good) are logged as a
    warning that names them.

    Args:
        model (nn.Module): The model to fill.
        checkpoint (str): Path or URL (read by mmengine's
            ``CheckpointLoader``, whose local loader is mmfer4d's safe one).
        prefix (str, optional): Load only the keys under this prefix (e.g.
            ``'backbone.'``), stripped, as ``PretrainedInit`` does.
            Defaults to None.
        map_location (str): Defaults to 'cpu'.
        frozen (Sequence[str]): Names of the frozen children of ``model``.

    Returns:
        dict: ``loaded``, ``unused`` and ``missing`` key lists.

    Raises:
        RuntimeError: If a tensor's shape differs from the model's (the
            message names the checkpoint and the keys).
        ValueError: If no tensor of the checkpoint fits the model.
    """
    from mmengine.runner.checkpoint import CheckpointLoader
    ckpt = CheckpointLoader.load_checkpoint(checkpoint, map_location)
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else ckpt
    state = {(k[len('module.'):] if k.startswith('module.') else k): v
             for k, v in state.items()}
    if prefix:
        state = {k[len(prefix):]: v for k, v in state.items()
                 if k.startswith(prefix)}
        target = model
        for name in prefix.rstrip('.').split('.'):
            target = getattr(target, name)
    else:
        target = model
    own = target.state_dict()
    bad = [f'{k}: checkpoint {tuple(v.shape)} vs model '
           f'{tuple(own[k].shape)}' for k, v in state.items()
           if k in own and hasattr(v, 'shape') and v.shape != own[k].shape]
    if bad:
        raise RuntimeError(f'{checkpoint}: {len(bad)} tensors do not fit '
                           f'the model: {"; ".join(bad[:5])}')
    missing, unused = target.load_state_dict(state, strict=False)
    loaded = [k for k in state if k in own]
    if not loaded:
        raise ValueError(f'{checkpoint}: no tensor of the checkpoint fits '
                         f'the model (checkpoint keys: '
                         f'{summarize_keys(state)}; model keys: '
                         f'{summarize_keys(own)})')
    line = (f'Pretrained: {len(loaded)} tensors (parameters and buffers) '
            f'from {checkpoint}'
            + (f' (under {prefix!r})' if prefix else ''))
    if unused:
        line += f'; {len(unused)} unused ({summarize_keys(unused)})'
    if missing:
        line += f'; {len(missing)} missing, kept as initialised ' \
                f'({summarize_keys(missing)})'
    print_log(line, logger='current')
    stuck = [k for k in missing if k.split('.', 1)[0] in frozen]
    if stuck:
        print_log(f'{checkpoint}: {len(stuck)} tensors of frozen parts are '
                  f'not in the checkpoint and stay random: {stuck[:8]}',
                  logger='current', level=logging.WARNING)
    return dict(loaded=loaded, unused=list(unused), missing=list(missing))
