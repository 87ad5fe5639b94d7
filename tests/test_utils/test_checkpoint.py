# Copyright (c) mmfer4d contributors. All rights reserved.
"""Tests of ``mmfer4d/utils/checkpoint.py``: real mmengine checkpoints
(including an empty ``HistoryBuffer``) load with ``weights_only=True`` and
the narrow allow-list; anything else pickled is refused before it runs.
Hostile files of every kind: ``test_checkpoint_scan.py``; URLs and
prefixes: ``test_checkpoint_schemes.py``."""
import builtins
import os
import pickle
import subprocess
import zipfile

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import Runner, load_checkpoint
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint
from torch import nn

from mmfer4d.utils import (UnsafeCheckpointError, load_from_local,
                           mmengine_checkpoint_safe_globals,
                           register_checkpoint_safe_globals,
                           safe_load_checkpoint, unsafe_schemes)


class ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, labels=None, mode='tensor'):
        out = self.linear(inputs)  # default_collate stacked the batch
        if mode == 'loss':
            return dict(loss=((out.squeeze(1) - labels)**2).mean())
        return out


class ToyDataset(torch.utils.data.Dataset):
    metainfo = dict(classes=('a', 'b'))

    def __len__(self):
        return 4

    def __getitem__(self, index):
        return dict(inputs=torch.full((2, ), float(index)),
                    labels=torch.tensor(float(index % 2)))


@pytest.fixture(scope='module')
def mmengine_checkpoint(tmp_path_factory):
    """A checkpoint saved by a real Runner after one epoch of training.

    It holds the message hub with HistoryBuffers of the logged scalars, the
    optimizer and the parameter-scheduler states.
    """
    work_dir = tmp_path_factory.mktemp('runner')
    runner = Runner(
        model=ToyModel(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=ToyDataset(),
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
            batch_size=2,
            num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        param_scheduler=dict(type='MultiStepLR', milestones=[1]),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1)),
        default_scope='mmfer4d',
        # Unique names: runners built within one second would share loggers.
        experiment_name='test_checkpoint_save')
    runner.train()
    path = work_dir / 'epoch_1.pth'
    assert path.is_file()
    return str(path)


class _CustomClass:
    """Stands for any class outside the allow-list."""

    def __init__(self, marker):
        self.marker = marker


class _OsSystem:

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


class _SubprocessCall:

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return subprocess.call, (['touch', self.marker], )


class _BuiltinsExec:

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return builtins.exec, (f'open({self.marker!r}, "w").close()', )


class _GetattrEscape:
    """Uses the allowed name ``builtins.getattr`` on something else."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return getattr, (HistoryBuffer, '__init__')


PAYLOADS = {
    'custom-class': (_CustomClass, '_CustomClass'),
    'os.system': (_OsSystem, 'system'),
    # torch reports it under its Python 2 name, commands.call.
    'subprocess.call': (_SubprocessCall, 'call'),
    'builtins.exec': (_BuiltinsExec, 'exec'),
    'getattr-escape': (_GetattrEscape, '__init__'),
}


@pytest.fixture(params=sorted(PAYLOADS))
def malicious_checkpoint(request, tmp_path):
    """A checkpoint-shaped dict with a payload pickled in ``meta``."""
    payload_cls, global_name = PAYLOADS[request.param]
    marker = tmp_path / 'payload-ran'
    path = tmp_path / f'{request.param}.pth'
    torch.save(
        dict(
            meta=dict(epoch=1, extra=payload_cls(str(marker))),
            state_dict=nn.Linear(2, 1).state_dict()), path)
    assert not marker.exists()
    return str(path), marker, global_name


def test_real_checkpoint_needs_exactly_the_allow_list(mmengine_checkpoint):
    # Proof that the allow-list is needed: without it torch refuses.
    torch.serialization.clear_safe_globals()
    try:
        needed = torch.serialization.get_unsafe_globals_in_checkpoint(
            mmengine_checkpoint)
        with pytest.raises(pickle.UnpicklingError, match='HistoryBuffer'):
            torch.load(mmengine_checkpoint)
    finally:
        register_checkpoint_safe_globals()
    assert 'mmengine.logging.history_buffer.HistoryBuffer' in needed
    assert 'builtins.getattr' in needed
    assert torch.serialization.get_unsafe_globals_in_checkpoint(
        mmengine_checkpoint) == []


def test_real_checkpoint_loads_with_torch_load(mmengine_checkpoint):
    checkpoint = torch.load(mmengine_checkpoint)  # weights_only by default
    assert checkpoint['meta']['epoch'] == 1
    assert checkpoint['meta']['dataset_meta'] == dict(classes=('a', 'b'))
    buffer = checkpoint['message_hub']['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer)
    # The restored statistics are mmengine's own methods, and they work.
    assert buffer.statistics('mean') == pytest.approx(buffer.mean())
    assert buffer.current() == buffer.data[0][-1]
    assert set(checkpoint['optimizer']) == {'state', 'param_groups'}


def test_real_checkpoint_loads_with_mmengine(mmengine_checkpoint):
    model = ToyModel()
    nn.init.zeros_(model.linear.weight)
    checkpoint = load_checkpoint(model, mmengine_checkpoint)
    saved = checkpoint['state_dict']['linear.weight']
    assert torch.equal(model.linear.weight.data, saved)
    assert saved.abs().sum() > 0
    assert 'message_hub' in _load_checkpoint(mmengine_checkpoint)


def _resumable_runner(work_dir, experiment_name):
    """A Runner that can resume the ``mmengine_checkpoint`` run."""
    return Runner(
        model=ToyModel(),
        work_dir=str(work_dir),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_dataloader=dict(
            dataset=ToyDataset(),
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
            batch_size=2),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        default_scope='mmfer4d',
        experiment_name=experiment_name)


def test_real_checkpoint_resumes(mmengine_checkpoint, tmp_path):
    runner = _resumable_runner(tmp_path, 'test_checkpoint_resume')
    runner.resume(mmengine_checkpoint)
    assert runner.epoch == 1 and runner.iter == 2
    buffer = runner.message_hub.get_scalar('train/loss')
    assert len(buffer.data[0]) == 2


def test_malicious_checkpoint_is_refused_by_mmengine(malicious_checkpoint):
    path, marker, global_name = malicious_checkpoint
    with pytest.raises(UnsafeCheckpointError) as info:
        load_checkpoint(ToyModel(), path)
    message = str(info.value)
    assert message.startswith(path)
    assert global_name in message
    assert not marker.exists(), 'the payload ran'


def test_malicious_checkpoint_is_refused_by_torch_load(malicious_checkpoint):
    path, marker, global_name = malicious_checkpoint
    with pytest.raises(pickle.UnpicklingError, match=global_name):
        torch.load(path)
    assert not marker.exists(), 'the payload ran'


def test_numpy_values_within_the_boundary(tmp_path):
    path = tmp_path / 'numpy.pth'
    allowed = dict(
        f32=np.float32(1.5),
        i8=np.arange(3, dtype=np.int8),
        u16=np.ones(2, dtype=np.uint16),
        flag=np.bool_(True),
        f16=np.zeros((2, 2), dtype=np.float16),
        empty=np.zeros(0),
        empty_2d=np.zeros((0, 4), dtype=np.int64))
    torch.save(allowed, path)
    loaded = load_from_local(str(path))
    for key, value in allowed.items():
        assert np.asarray(loaded[key]).dtype == np.asarray(value).dtype
        assert np.shape(loaded[key]) == np.shape(value)
        assert np.array_equal(loaded[key], value)


@pytest.mark.parametrize('array', [
    np.array([1, 'a'], dtype=object),
    np.array([None], dtype=object),
    np.array(['text']),
    np.zeros(2, dtype=[('x', 'f4')]),
    np.array([1 + 2j]),
    np.array(['2020-01-01'], dtype='datetime64[D]'),
],
                         ids=['object', 'object-none', 'str', 'structured',
                              'complex', 'datetime'])
def test_other_numpy_dtypes_are_refused(array, tmp_path):
    # Documented: only boolean, integer and float arrays and scalars load;
    # object arrays may hold anything, the others are not in checkpoints.
    path = tmp_path / 'dtype.pth'
    torch.save(dict(meta=dict(value=array)), path)
    with pytest.raises(UnsafeCheckpointError,
                       match=r"refused numpy\.dtype\('") as info:
        load_from_local(str(path))
    assert str(info.value).startswith(str(path))
    with pytest.raises(pickle.UnpicklingError, match='numpy.dtype'):
        torch.load(path)  # the same stand-in, process-wide


def test_empty_history_buffer_loads_and_resumes(mmengine_checkpoint,
                                                tmp_path):
    # An empty HistoryBuffer (a key with no value logged yet) kept in the
    # message hub: its empty arrays pickle ``builtins.bytes()``.
    runner = _resumable_runner(tmp_path, 'test_checkpoint_empty_buffer')
    runner.resume(mmengine_checkpoint)
    runner.message_hub.update_info('val/empty', HistoryBuffer())
    runner.save_checkpoint(str(tmp_path), 'empty_buffer.pth')
    path = str(tmp_path / 'empty_buffer.pth')
    with zipfile.ZipFile(path) as archive:
        data = archive.read(next(n for n in archive.namelist()
                                 if n.endswith('/data.pkl')))
    assert b'c__builtin__\nbytes\n' in data  # bytes() in protocol 2
    checkpoint = load_from_local(path)
    buffer = checkpoint['message_hub']['runtime_info']['val/empty']
    assert isinstance(buffer, HistoryBuffer)
    assert buffer.data[0].shape == (0, ) and buffer.data[0].dtype == float
    runner.resume(path)
    assert len(runner.message_hub.get_info('val/empty').data[0]) == 0
    assert len(runner.message_hub.get_scalar('train/loss').data[0]) == 2


def test_history_buffer_class_table_survives_a_hostile_file(
        tmp_path, monkeypatch):
    # HistoryBuffer.__getstate__ pickles the class-wide method table and
    # __setstate__ merges it back into the class attribute shared by every
    # buffer of the process.
    path = tmp_path / 'table.pth'
    for method, error in ((len, 'builtins.len'), (set, 'statistics')):
        with monkeypatch.context() as patch:
            patch.setitem(HistoryBuffer._statistics_methods, 'mean', method)
            torch.save(
                dict(message_hub=dict(
                    log_scalars=dict(x=HistoryBuffer([1.0], [1])))), path)
        with pytest.raises(UnsafeCheckpointError, match=error):
            load_from_local(str(path))
        assert HistoryBuffer._statistics_methods['mean'] is \
            HistoryBuffer.mean
    assert HistoryBuffer([1.0, 3.0], [1, 1]).statistics('mean') == 2.0


def test_numpy1_names_are_allowed(tmp_path):
    # numpy 1.x pickles ``numpy.core.multiarray``; rewrite the names of a
    # legacy (non-zip, sequential pickles) checkpoint to get such a file.
    path = tmp_path / 'numpy1.pth'
    torch.save(
        dict(a=np.arange(4, dtype=np.float64), s=np.float64(2.0)),
        path,
        _use_new_zipfile_serialization=False)
    data = path.read_bytes()
    assert b'numpy._core.multiarray\n' in data
    path.write_bytes(
        data.replace(b'numpy._core.multiarray\n',
                     b'numpy.core.multiarray\n'))
    loaded = load_from_local(str(path))
    assert np.array_equal(loaded['a'], np.arange(4.0))
    assert loaded['s'] == 2.0


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_from_local(str(tmp_path / 'nope.pth'))


def test_registration_is_idempotent():
    before = list(torch.serialization.get_safe_globals())
    register_checkpoint_safe_globals()
    register_checkpoint_safe_globals()
    after = torch.serialization.get_safe_globals()
    assert len(after) == len(before)
    for item in mmengine_checkpoint_safe_globals():
        assert item in after
    assert CheckpointLoader._get_checkpoint_loader('x.pth') is load_from_local
    assert unsafe_schemes() == []
    # Neither object arrays nor raw numpy callables are on the list.
    names = {item[1] if isinstance(item, tuple) else item.__qualname__
             for item in after}
    assert not any('ObjectDType' in name for name in names)
    raw = [np.dtype, np.ndarray, builtins.getattr, builtins.bytes]
    assert not any(item in raw for item in after)


def test_a_rebound_name_stops_the_loader(mmengine_checkpoint):
    torch.serialization.add_safe_globals([np.dtype])  # 'numpy.dtype'
    try:
        with pytest.raises(RuntimeError, match='numpy.dtype'):
            safe_load_checkpoint(mmengine_checkpoint)
    finally:
        torch.serialization.clear_safe_globals()
        register_checkpoint_safe_globals()
    assert safe_load_checkpoint(mmengine_checkpoint)['meta']['epoch'] == 1
