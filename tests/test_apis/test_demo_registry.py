# Copyright (c) mmfer4d contributors. All rights reserved.
"""mmfer4d/apis/demo/registry.py: runs and targets by name."""
import os.path as osp

import pytest

from mmfer4d.apis.demo import registry
from mmfer4d.apis.demo.registry import RunSpec


@pytest.fixture
def clean_registry(monkeypatch):
    """An empty registry for the test, the real one restored after."""
    monkeypatch.setattr(registry, 'RUNS', {})
    monkeypatch.setattr(registry, 'TARGETS', {})
    return registry


def _spec(name, **kw):
    return RunSpec(name, f'{name}.py', method='M', supervision='S',
                   evaluation='E', **kw)


def test_shipped_targets_and_table_order():
    from mmfer4d.apis.demo import RUNS, TARGETS, runs_of, target_names
    assert set(TARGETS) >= {'main', 'intensities', 'ssl', 'baseline', '4d'}
    assert TARGETS['main'] == ('smile-vlm', 'smile-vlm-linear')
    assert 'all' in target_names()
    # Table order is registration order, whatever the --what order.
    assert runs_of(['baseline', 'main']) == ('smile-vlm', 'smile-vlm-linear',
                                             'mv-ce')
    assert runs_of(['all']) == tuple(RUNS)
    for spec in RUNS.values():
        assert osp.isfile(spec.config), spec.config
        assert spec.full is None or osp.isfile(spec.full), spec.full


def test_a_new_target_is_one_registration(clean_registry):
    clean_registry.register_target('mf2', [
        _spec('mf2-pre'), _spec('mf2-au', probe_of='mf2-pre')
    ])
    assert clean_registry.TARGETS['mf2'] == ('mf2-pre', 'mf2-au')
    assert clean_registry.runs_of(['mf2']) == ('mf2-pre', 'mf2-au')
    assert clean_registry.target_names() == ('mf2', 'all')


def test_registration_errors(clean_registry):
    clean_registry.register_target('a', [_spec('x')])
    with pytest.raises(ValueError, match='already registered'):
        clean_registry.register_target('a', [_spec('y')])
    with pytest.raises(ValueError, match="'x' is already registered"):
        clean_registry.register_target('b', [_spec('x')])
    with pytest.raises(ValueError, match='reserved'):
        clean_registry.register_target('all', [_spec('z')])
    with pytest.raises(ValueError, match='probe_of names no run'):
        clean_registry.register_target('c', [_spec('p', probe_of='nope')])
    # A failed registration leaves nothing behind.
    assert set(clean_registry.RUNS) == {'x'}
    with pytest.raises(KeyError, match="unknown demo target 'nope'"):
        clean_registry.runs_of(['nope'])
