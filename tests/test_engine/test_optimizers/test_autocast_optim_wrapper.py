# Copyright (c) mmfer4d contributors. All rights reserved.
"""AutocastOptimWrapper: bfloat16 autocast in the training forward, on CPU."""
import pytest
import torch
from mmengine.model import BaseModel
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from torch import nn

from mmfer4d.engine.optimizers import AutocastOptimWrapper, native_bfloat16
from mmfer4d.engine.optimizers import autocast_optim_wrapper as module


class _Net(BaseModel):
    """A convolution and a linear layer; records the dtypes it saw."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.fc = nn.Linear(4, 2)
        self.seen = []

    def forward(self, inputs, labels=None, mode='loss'):
        x = self.conv(inputs)
        self.seen.append(x.dtype)
        logits = self.fc(x.mean((2, 3)))
        return dict(loss=nn.functional.cross_entropy(logits.float(), labels))


def _data():
    torch.manual_seed(0)
    return dict(inputs=torch.randn(4, 3, 8, 8),
                labels=torch.tensor([0, 1, 0, 1]))


def _wrapper(model, **kwargs):
    return AutocastOptimWrapper(
        torch.optim.SGD(model.parameters(), lr=0.1), **kwargs)


@pytest.mark.parametrize('enabled, dtype', [(True, torch.bfloat16),
                                            (False, torch.float32)])
def test_train_step_autocasts_and_keeps_float32_state(enabled, dtype):
    model = _Net()
    before = [p.detach().clone() for p in model.parameters()]
    wrapper = _wrapper(model, enabled=enabled)
    log_vars = model.train_step(_data(), wrapper)
    assert model.seen == [dtype]
    assert torch.isfinite(log_vars['loss'])
    for old, new in zip(before, model.parameters()):
        assert new.dtype == torch.float32
        assert not torch.equal(old, new)  # the step trained


def test_bfloat16_step_close_to_float32_step():
    # Same start, one step each: bfloat16 rounding only (8 mantissa bits).
    weights = []
    for enabled in (False, True):
        torch.manual_seed(1)
        model = _Net()
        model.train_step(_data(), _wrapper(model, enabled=enabled))
        weights.append(torch.cat([p.flatten() for p in model.parameters()]))
    diff = (weights[0] - weights[1]).abs().max()
    assert 0 < diff < 1e-2


@pytest.mark.parametrize('native', [True, False])
def test_auto_follows_the_device(monkeypatch, native):
    monkeypatch.setattr(module, 'native_bfloat16', lambda device: native)
    model = _Net()
    wrapper = _wrapper(model)  # enabled='auto'
    model.train_step(_data(), wrapper)
    model.train_step(_data(), wrapper)
    expected = torch.bfloat16 if native else torch.float32
    assert model.seen == [expected, expected]
    assert wrapper.autocast_enabled('cpu') is native


def test_native_bfloat16():
    assert isinstance(native_bfloat16('cpu'), bool)
    assert native_bfloat16('cuda') == (torch.cuda.is_available()
                                       and torch.cuda.is_bf16_supported())
    assert native_bfloat16('mps') is False


def test_built_from_config():
    model = _Net()
    with DefaultScope.overwrite_default_scope('mmfer4d'):
        wrapper = build_optim_wrapper(
            model,
            dict(type='AutocastOptimWrapper', enabled=True,
                 optimizer=dict(type='SGD', lr=0.1)))
    assert isinstance(wrapper, AutocastOptimWrapper)
    model.train_step(_data(), wrapper)
    assert model.seen == [torch.bfloat16]


@pytest.mark.parametrize('kwargs, match', [
    (dict(dtype='float16'), 'AmpOptimWrapper'),
    (dict(enabled='yes'), "True, False or 'auto'"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _wrapper(_Net(), **kwargs)
