# Copyright (c) mmfer4d contributors. All rights reserved.
"""Where a probe config takes its pre-trained checkpoint from."""
import json

import pytest
from mmengine.config import Config

from mmfer4d.apis import (PretrainLeakError, checkpoint_keys,
                          pretrained_checkpoint_key, read_pretrain_record,
                          set_pretrained_checkpoint)
from mmfer4d.apis.kfold_pretrain import (check_subject_independence,
                                         resolve_pretrain_config)


def _cfg(**kwargs):
    return Config(dict(model=dict(type='AnyModelClass'), **kwargs))


def test_the_two_mmengine_ways_of_loading_a_checkpoint():
    by_init = _cfg()
    by_init.model.init_cfg = dict(type='Pretrained', checkpoint='old.pth')
    assert checkpoint_keys(by_init) == ['model.init_cfg.checkpoint']
    set_pretrained_checkpoint(by_init, 'fold3.pth',
                              pretrained_checkpoint_key(by_init))
    assert by_init.model.init_cfg == dict(type='Pretrained',
                                          checkpoint='fold3.pth')

    by_load = _cfg(load_from='old.pth')
    key = pretrained_checkpoint_key(by_load)
    assert key == 'load_from'
    set_pretrained_checkpoint(by_load, 'fold3.pth', key)
    assert by_load.load_from == 'fold3.pth'
    # A resumed probe restores its own checkpoint: mmengine would resume
    # from load_from, so it is left alone.
    resumed = _cfg(load_from=None)
    set_pretrained_checkpoint(resumed, 'fold3.pth', 'load_from', resume=True)
    assert resumed.load_from is None

    listed = _cfg()
    listed.model.init_cfg = [dict(type='Normal', layer='Linear'),
                             dict(type='Pretrained', checkpoint='a.pth')]
    key = pretrained_checkpoint_key(listed)
    assert key == 'model.init_cfg.1.checkpoint'
    set_pretrained_checkpoint(listed, 'b.pth', key)
    assert listed.model.init_cfg[1]['checkpoint'] == 'b.pth'
    assert listed.model.init_cfg[0] == dict(type='Normal', layer='Linear')


def test_submodule_weights_are_not_the_probed_checkpoint():
    cfg = _cfg()
    cfg.model.backbone = dict(init_cfg=dict(type='Pretrained',
                                            checkpoint='imagenet.pth'))
    with pytest.raises(ValueError, match='loads no pre-trained checkpoint'):
        pretrained_checkpoint_key(cfg)
    cfg.load_from = 'x.pth'
    cfg.model.init_cfg = dict(type='Pretrained', checkpoint='y.pth')
    with pytest.raises(ValueError, match='several checkpoints'):
        pretrained_checkpoint_key(cfg)
    assert pretrained_checkpoint_key(cfg, 'load_from') == 'load_from'


def test_pretrain_config_named_by_the_probe_config(tmp_path):
    (tmp_path / 'pre.py').write_text('x = 1\n')
    probe = tmp_path / 'probe.py'
    probe.write_text("pretrain_config = './pre.py'\n")
    cfg = Config.fromfile(str(probe))
    assert resolve_pretrain_config(cfg, str(probe)) == str(tmp_path /
                                                           'pre.py')
    assert resolve_pretrain_config(cfg, str(probe), str(probe)) == str(probe)
    assert resolve_pretrain_config(Config(dict()), str(probe)) is None
    cfg.pretrain_config = 'missing.py'
    with pytest.raises(FileNotFoundError, match='named by pretrain_config'):
        resolve_pretrain_config(cfg, str(probe))


def test_record_and_leak_check(tmp_path):
    assert read_pretrain_record(str(tmp_path)) is None
    (tmp_path / 'pretrained.json').write_text(json.dumps(dict(
        checkpoint='epoch_3.pth', subjects=[['BU3DFEDataset', 'F0001']],
        fold=0, num_folds=10, seed=0)))
    with pytest.raises(FileNotFoundError, match='epoch_3.pth'):
        read_pretrain_record(str(tmp_path))
    (tmp_path / 'epoch_3.pth').write_bytes(b'')
    record = read_pretrain_record(str(tmp_path))
    assert record['checkpoint'] == str(tmp_path / 'epoch_3.pth')
    assert record['subjects'] == {('BU3DFEDataset', 'F0001')}
    check_subject_independence(record['subjects'],
                               {('BU3DFEDataset', 'M0001')}, 'fold 0')
    with pytest.raises(PretrainLeakError, match='BU3DFEDataset:F0001'):
        check_subject_independence(
            record['subjects'], {('BU3DFEDataset', 'F0001')}, 'fold 0')
