# Copyright (c) mmfer4d contributors. All rights reserved.
"""SummarizedOptimWrapperConstructor: frozen tensors out, one log line."""
import logging

import pytest
import torch
from mmengine.logging import MMLogger
from mmengine.optim import DefaultOptimWrapperConstructor
from torch import nn

from mmfer4d.engine.optimizers import SummarizedOptimWrapperConstructor
from mmfer4d.registry import OPTIM_WRAPPER_CONSTRUCTORS


class _Net(nn.Module):

    def __init__(self):
        super().__init__()
        self.frozen = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
        self.head = nn.Linear(4, 2)
        self.frozen.requires_grad_(False)


class _Records(logging.Handler):

    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        if record.levelno >= logging.INFO:
            self.messages.append(record.getMessage())


def _build(constructor_cls, paramwise_cfg):
    logger = MMLogger.get_instance('test_summarized_constructor')
    records = _Records()
    logger.addHandler(records)
    try:
        cfg = dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05))
        wrapper = constructor_cls(cfg, paramwise_cfg)(_Net())
    finally:
        logger.removeHandler(records)
    return wrapper, records.messages


@pytest.mark.parametrize('paramwise_cfg', [
    None, dict(norm_decay_mult=0.0, bias_decay_mult=0.0)])
def test_frozen_left_out_in_one_line(paramwise_cfg):
    ours, lines = _build(SummarizedOptimWrapperConstructor, paramwise_cfg)
    theirs, their_lines = _build(DefaultOptimWrapperConstructor,
                                 paramwise_cfg)
    ours_params = [p for g in ours.optimizer.param_groups
                   for p in g['params']]
    # Only the head's weight and bias (2 x 4 + 2 values) train.
    assert len(ours_params) == 2
    assert all(p.requires_grad for p in ours_params)
    assert lines == [
        'optimizer AdamW: 2 tensors (10 values) train; 4 frozen tensors '
        '(24 values) left out' +
        ('; paramwise options: weight_decay=0.0 x 1'
         if paramwise_cfg else '')
    ]

    # The same options as mmengine gives the trainable tensors.
    def options(wrapper):
        return sorted((tuple(p.shape), g.get('weight_decay'), g['lr'])
                      for g in wrapper.optimizer.param_groups
                      for p in g['params'] if p.requires_grad)
    assert options(ours) == options(theirs)
    if paramwise_cfg:
        # mmengine: one line per frozen tensor and per option.
        assert sum('requires_grad=False' in m for m in their_lines) == 4


def test_registered_and_refuses_an_all_frozen_model():
    assert OPTIM_WRAPPER_CONSTRUCTORS.get(
        'SummarizedOptimWrapperConstructor') is \
        SummarizedOptimWrapperConstructor
    net = _Net().requires_grad_(False)
    with pytest.raises(ValueError, match='all 6 tensors are frozen'):
        SummarizedOptimWrapperConstructor(
            dict(optimizer=dict(type='SGD', lr=0.1)))(net)
    # The filter is gone after a failure too.
    assert not any(type(f).__name__ == '_CountRecords'
                   for f in MMLogger.get_current_instance().filters)
    torch.manual_seed(0)
