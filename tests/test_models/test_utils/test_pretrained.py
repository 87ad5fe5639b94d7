# Copyright (c) mmfer4d contributors. All rights reserved.
"""load_pretrained: PretrainedInit's loading with a one-line summary."""
import logging

import pytest
import torch
from mmengine.logging import MMLogger
from torch import nn

from mmfer4d.models.utils import load_pretrained, summarize_keys


class _Probe(nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = nn.Linear(3, 4)
        self.head = nn.Linear(4, 2)


class _Records(logging.Handler):

    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def records():
    handler = _Records()
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield handler.records
    logger.removeHandler(handler)


def _pretrain_ckpt(tmp_path, **extra):
    src = _Probe()
    state = {f'backbone.{k}': v for k, v in src.backbone.state_dict().items()}
    state.update({f'text_encoder.layer{i}.weight': torch.zeros(2)
                  for i in range(30)})
    state.update(extra)
    path = tmp_path / 'pre.pth'
    torch.save(dict(state_dict=state), path)
    return str(path), src


def test_summary_line(tmp_path, records):
    path, src = _pretrain_ckpt(tmp_path)
    probe = _Probe()
    out = load_pretrained(probe, path, frozen=('backbone', ))
    assert torch.equal(probe.backbone.weight, src.backbone.weight)
    assert sorted(out['missing']) == ['head.bias', 'head.weight']
    assert len(out['unused']) == 30
    ours = [r for r in records if r.getMessage().startswith('Pretrained')]
    assert [r.getMessage() for r in ours] == [
        f'Pretrained: 2 tensors (parameters and buffers) from {path}; '
        '30 unused (text_encoder.* 30); 2 missing, kept as initialised '
        '(head.* 2)'
    ]
    assert not [r for r in records if r.levelno >= logging.WARNING]


def test_frozen_missing_warns_and_mismatches_raise(tmp_path, records):
    path, _ = _pretrain_ckpt(tmp_path)
    probe = _Probe()
    load_pretrained(probe, path, prefix=None, frozen=('head', ))
    warned = [r.getMessage() for r in records
              if r.levelno == logging.WARNING]
    assert len(warned) == 1 and 'stay random' in warned[0]
    assert 'head.weight' in warned[0]
    bad, _ = _pretrain_ckpt(tmp_path, **{'head.weight': torch.zeros(5, 5)})
    with pytest.raises(RuntimeError, match=r'head.weight: checkpoint '
                       r'\(5, 5\) vs model \(2, 4\)'):
        load_pretrained(_Probe(), bad)
    torch.save(dict(state_dict={'x.y': torch.zeros(1)}), tmp_path / 'n.pth')
    with pytest.raises(ValueError, match='no tensor of the checkpoint'):
        load_pretrained(_Probe(), str(tmp_path / 'n.pth'))


def test_prefix_and_grouping(tmp_path):
    path, src = _pretrain_ckpt(tmp_path)
    backbone_only = _Probe()
    out = load_pretrained(backbone_only, path, prefix='backbone.')
    assert sorted(out['loaded']) == ['bias', 'weight']
    assert torch.equal(backbone_only.backbone.bias, src.backbone.bias)
    assert summarize_keys(['a.x', 'a.y', 'b', 'c.z', 'd.q', 'e.r'],
                          limit=2) == 'a.* 2, b 1, +3 more'
