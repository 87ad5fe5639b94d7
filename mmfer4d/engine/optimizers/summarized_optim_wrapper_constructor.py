# Copyright (c) mmfer4d contributors. All rights reserved.
"""mmengine's optimizer constructor, with one summary line instead of one
line per parameter."""
import logging
from collections import Counter
from typing import List

from mmengine.logging import MMLogger, print_log
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper
from torch import nn

from mmfer4d.registry import OPTIM_WRAPPER_CONSTRUCTORS

_FROZEN = ' is skipped since its requires_grad=False'
_OPTION = 'paramwise_options -- '


class _CountRecords(logging.Filter):
    """Keeps the per-parameter records of mmengine's constructor out of the
    log, and counts them: frozen tensors and ``paramwise_options`` keys."""

    def __init__(self) -> None:
        super().__init__()
        self.frozen = 0
        self.options = Counter()

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        if msg.endswith(_FROZEN):
            self.frozen += 1
            return False
        if msg.startswith(_OPTION):
            # 'paramwise_options -- backbone.bn1.weight:weight_decay=0.0'
            self.options[msg.rsplit(':', 1)[-1]] += 1
            return False
        return True


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class SummarizedOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """mmengine's ``DefaultOptimWrapperConstructor`` that leaves frozen
    parameters out and says so in one line.

    mmengine's constructor logs one warning per frozen tensor (``... is
    skipped since its requires_grad=False``: 149 lines for SMILE-VLM's frozen
    text tower) and one line per tensor and option set by ``paramwise_cfg``
    (110 lines for the norm and bias rules of the tiny config), and without a
    ``paramwise_cfg`` hands the frozen tensors to the optimizer too. This
    one builds the same optimizer from the trainable tensors only (the
    param-group options are mmengine's, unchanged) and logs one line::

        optimizer AdamW: 2 tensors (774 values) train; 69 frozen tensors
        (786,752 values) left out; paramwise options: weight_decay=0.0 x 1

    Use it with ``optim_wrapper = dict(constructor=
    'SummarizedOptimWrapperConstructor', ...)`` (our schedule configs do).
    Its arguments are those of ``DefaultOptimWrapperConstructor``.

    Raises:
        ValueError: If no parameter of the model requires gradients.
    """

    def __call__(self, model: nn.Module) -> OptimWrapper:
        if hasattr(model, 'module'):
            model = model.module
        if not self.paramwise_cfg:
            # mmengine's path without paramwise_cfg passes every parameter
            # (frozen ones too); an empty rule set takes the per-parameter
            # path, which skips the frozen ones, with the same options.
            self.paramwise_cfg = dict(custom_keys={})
        trainable = [p for p in model.parameters() if p.requires_grad]
        frozen = [p for p in model.parameters() if not p.requires_grad]
        if not trainable:
            raise ValueError(
                f'{type(model).__name__}: no parameter requires gradients '
                f'(all {len(frozen)} tensors are frozen); nothing to train')
        counter = _CountRecords()
        logger = MMLogger.get_current_instance()
        logger.addFilter(counter)
        try:
            optim_wrapper = super().__call__(model)
        finally:
            logger.removeFilter(counter)
        print_log(self.summary(optim_wrapper, trainable, frozen, counter),
                  logger='current')
        return optim_wrapper

    @staticmethod
    def summary(optim_wrapper: OptimWrapper, trainable: List[nn.Parameter],
                frozen: List[nn.Parameter], counter: _CountRecords) -> str:
        """The one line logged for the optimizer that was built."""
        name = type(optim_wrapper.optimizer).__name__
        line = (f'optimizer {name}: {len(trainable)} tensors '
                f'({_count(trainable)} values) train')
        if frozen:
            line += (f'; {len(frozen)} frozen tensors '
                     f'({_count(frozen)} values) left out')
        if counter.options:
            options = ', '.join(f'{k} x {n}'
                                for k, n in counter.options.most_common())
            line += f'; paramwise options: {options}'
        return line


def _count(params: List[nn.Parameter]) -> str:
    return f'{sum(p.numel() for p in params):,}'
