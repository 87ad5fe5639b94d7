# Copyright (c) mmfer4d contributors. All rights reserved.
"""Hostile checkpoints: every one raises our error and runs nothing.

The pickles are typed opcode by opcode from the pickle format (CPython's
``Lib/pickletools.py`` documents each opcode) and wrapped the way torch
stores them: a zip archive with ``<name>/data.pkl``, or the legacy
sequence of pickles (magic number, protocol version, system info, object,
storage keys). Each payload would create a marker file if it ran; a payload
that would allocate asks for about a terabyte, so a missed refusal fails
fast with a ``MemoryError`` instead of our error.
"""
import collections
import io
import pickle
import resource
import struct
import tarfile
import time
import zipfile

import numpy as np
import pytest
import torch
from torch import nn

from mmfer4d.utils import (CheckpointRefusedError, UnsafeCheckpointError,
                           UnsupportedCheckpointError, safe_load_checkpoint)

HUGE = 10**12  # elements or bytes: a terabyte or more
PROTO2 = b'\x80\x02'


def g(module, name):
    """GLOBAL: module and name, each ended by a line break."""
    return b'c' + module.encode() + b'\n' + name.encode() + b'\n'


def s(text):
    """BINUNICODE: 4-byte little-endian length, UTF-8 bytes."""
    data = text.encode()
    return b'X' + struct.pack('<I', len(data)) + data


def i(value):
    """BININT1 / BININT / LONG1 for a non-negative int."""
    if value < 256:
        return b'K' + bytes([value])
    if value < 2**31:
        return b'J' + struct.pack('<i', value)
    data = value.to_bytes((value.bit_length() + 8) // 8, 'little')
    return b'\x8a' + bytes([len(data)]) + data


def t(*items):
    """MARK items TUPLE."""
    return b'(' + b''.join(items) + b't'


def call(func, *args):
    """func args-tuple REDUCE."""
    return func + t(*args) + b'R'


def wrap(value):
    """A checkpoint-shaped dict ``{'meta': value}`` ending in STOP."""
    return PROTO2 + b'}' + s('meta') + value + b's.'


def rebuild_tensor(storage_type=g('torch', 'FloatStorage'), numel=1,
                   hooks=None, metadata=None):
    """``_rebuild_tensor_v2(persistent storage, 0, (1,), (1,), False,
    hooks)`` as torch.save writes a tensor, with parts replaceable."""
    pid = t(s('storage'), storage_type, s('0'), s('cpu'), i(numel)) + b'Q'
    hooks = hooks or call(g('collections', 'OrderedDict'))
    args = [pid, i(0), t(i(1)), t(i(1)), b'\x89', hooks]
    if metadata is not None:
        args.append(metadata)
    return call(g('torch._utils', '_rebuild_tensor_v2'), *args)


def write_zip(path, data_pkl, storages=None):
    """A torch zip checkpoint: records under ``archive/``."""
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_STORED) as archive:
        archive.writestr('archive/data.pkl', data_pkl)
        archive.writestr('archive/version', '3\n')
        archive.writestr('archive/byteorder', 'little')
        for key, data in (storages or {}).items():
            archive.writestr(f'archive/data/{key}', data)


def write_legacy(path, main_pickle, keys=b'\x80\x02]q\x00.'):
    """The legacy (``_use_new_zipfile_serialization=False``) layout."""
    magic = pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2)
    version = pickle.dumps(1001, protocol=2)
    sys_info = pickle.dumps(
        dict(protocol_version=1001, little_endian=True,
             type_sizes=dict(short=2, int=4, long=4)), protocol=2)
    with open(path, 'wb') as f:
        f.write(magic + version + sys_info + main_pickle + keys)


def marker_code(marker):
    return f'open({str(marker)!r}, "w").close()'


# name: (pickled value given the marker path, expected error, named text)
PAYLOADS = {
    'os.system': (lambda m: call(g('os', 'system'), s(f'touch {m}')),
                  UnsafeCheckpointError, 'os.system'),
    'posix.system': (lambda m: call(g('posix', 'system'), s(f'touch {m}')),
                     UnsafeCheckpointError, 'posix.system'),
    'builtins.eval': (lambda m: call(g('builtins', 'eval'),
                                     s(marker_code(m))),
                      UnsafeCheckpointError, 'builtins.eval'),
    'builtins.exec via __builtin__': (
        lambda m: call(g('__builtin__', 'exec'), s(marker_code(m))),
        UnsafeCheckpointError, 'builtins.exec'),
    'subprocess.Popen': (lambda m: call(
        g('subprocess', 'Popen'), b']' + b'(' + s('touch') + s(str(m)) +
        b'e'), UnsafeCheckpointError, 'subprocess.Popen'),
    'getattr(os, system)': (lambda m: call(
        call(g('builtins', 'getattr'), g('os', 'os'), s('system')),
        s(f'touch {m}')), UnsafeCheckpointError, 'os.os'),
    'getattr escape at run time': (
        lambda m: call(g('builtins', 'getattr'),
                       g('mmengine.logging.history_buffer', 'HistoryBuffer'),
                       s('__init__')), UnsafeCheckpointError, '__init__'),
    'payload as a storage type': (
        lambda m: rebuild_tensor(storage_type=call(
            g('builtins', 'eval'), s(marker_code(m)))),
        UnsafeCheckpointError, 'builtins.eval'),
    'payload in backward hooks': (
        lambda m: rebuild_tensor(hooks=call(g('builtins', 'exec'),
                                            s(marker_code(m)))),
        UnsafeCheckpointError, 'builtins.exec'),
    'payload in tensor metadata': (
        lambda m: rebuild_tensor(metadata=call(g('os', 'system'),
                                               s(f'touch {m}'))),
        UnsafeCheckpointError, 'os.system'),
    'payload in reconstruct arguments': (
        lambda m: call(g('numpy._core.multiarray', '_reconstruct'),
                       g('numpy', 'ndarray'), t(i(0)),
                       call(g('builtins', 'eval'), s(marker_code(m)))),
        UnsafeCheckpointError, 'builtins.eval'),
    'reconstruct of a huge shape': (
        lambda m: call(g('numpy.core.multiarray', '_reconstruct'),
                       g('numpy', 'ndarray'), t(i(HUGE)),
                       call(g('_codecs', 'encode'), s('b'), s('latin1'))),
        UnsafeCheckpointError, '_reconstruct'),
    'object dtype': (lambda m: call(g('numpy', 'dtype'), s('O8'), b'\x89',
                                    b'\x88'), UnsafeCheckpointError,
                     "numpy.dtype('O8')"),
    'bytes(huge)': (lambda m: call(g('__builtin__', 'bytes'), i(HUGE)),
                    UnsafeCheckpointError, 'builtins.bytes'),
    'bytearray(huge)': (lambda m: call(g('builtins', 'bytearray'), i(HUGE)),
                        UnsafeCheckpointError, 'builtins.bytearray'),
    'UntypedStorage(huge)': (
        lambda m: call(g('torch.storage', 'UntypedStorage'), i(HUGE)),
        UnsafeCheckpointError, 'torch.storage.UntypedStorage'),
    'Tensor(huge) by NEWOBJ': (
        lambda m: g('torch', 'FloatTensor') + t(i(HUGE)) + b'\x81',
        UnsafeCheckpointError, 'torch.FloatTensor'),
    'rebuild_from_type_v2 of bytearray': (
        lambda m: call(g('torch._tensor', '_rebuild_from_type_v2'),
                       g('builtins', 'bytearray'), g('torch', 'Tensor'),
                       t(i(HUGE)), b'}'),
        UnsafeCheckpointError, '_rebuild_from_type_v2'),
    'quantised tensor of a huge shape': (
        lambda m: call(g('torch._utils', '_rebuild_qtensor'), b'N', i(0),
                       t(i(HUGE)), t(i(1)),
                       t(g('torch', 'per_tensor_affine'), i(1), i(0)),
                       b'\x89', b'N'),
        UnsafeCheckpointError, '_rebuild_qtensor'),
    'storage claiming a terabyte': (
        lambda m: rebuild_tensor(numel=HUGE), UnsafeCheckpointError,
        'storages claim'),
    'REDUCE of a call result': (
        lambda m: call(call(g('torch', 'Size'), t()), s('x')),
        UnsafeCheckpointError, 'not a global'),
    # HistoryBuffer.__setstate__ merges these into the class-wide table.
    'message hub statistics method': (
        lambda m: g('mmengine.logging.history_buffer', 'HistoryBuffer') +
        b')\x81' + b'}' + s('statistics_methods') + b'}' + s('mean') +
        g('collections', 'OrderedDict') + b'ssb', UnsafeCheckpointError,
        'statistics methods'),
    'message hub history': (
        lambda m: g('mmengine.logging.history_buffer', 'HistoryBuffer') +
        b')\x81' + b'}' + s('_log_history') + s('not an array') + b'sb',
        UnsafeCheckpointError, 'numeric numpy arrays'),
    'message hub payload': (
        lambda m: g('mmengine.logging.history_buffer', 'HistoryBuffer') +
        b')\x81' + b'}' + s('_log_history') + call(
            g('builtins', 'exec'), s(marker_code(m))) + b'sb',
        UnsafeCheckpointError, 'builtins.exec'),
}


@pytest.fixture(params=sorted(PAYLOADS))
def payload(request, tmp_path):
    build, error, named = PAYLOADS[request.param]
    marker = tmp_path / 'payload-ran'
    return build(marker), error, named, marker


@pytest.mark.parametrize('layout', ['zip', 'legacy'])
def test_hostile_pickle_is_refused(payload, layout, tmp_path):
    value, error, named, marker = payload
    path = tmp_path / f'{layout}.pth'
    if layout == 'zip':
        write_zip(path, wrap(value))
    else:
        write_legacy(path, wrap(value))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    with pytest.raises(CheckpointRefusedError) as info:
        safe_load_checkpoint(str(path))
    assert type(info.value) is error
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert named in message, message
    assert not marker.exists(), 'the payload ran'
    assert time.perf_counter() - start < 5
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kb < 200_000


@pytest.mark.parametrize('name', [
    'bytes(huge)', 'reconstruct of a huge shape', 'object dtype',
    'getattr escape at run time'
])
def test_stand_ins_guard_plain_torch_load(name, tmp_path):
    # The allow-list is registered process-wide: torch.load's own
    # unpickler (without our scan) meets the same narrow stand-ins.
    path = tmp_path / 'plain.pth'
    write_zip(path, wrap(PAYLOADS[name][0](tmp_path / 'm')))
    with pytest.raises(pickle.UnpicklingError, match='refused'):
        torch.load(path, weights_only=True)


def test_every_refused_global_is_named(tmp_path):
    value = t(call(g('os', 'system'), s('true')),
              call(g('builtins', 'eval'), s('1')),
              call(g('nt', 'system'), s('true')))
    path = tmp_path / 'many.pth'
    write_zip(path, wrap(value))
    with pytest.raises(UnsafeCheckpointError) as info:
        safe_load_checkpoint(str(path))
    assert info.value.names == ['os.system', 'builtins.eval', 'nt.system']
    assert info.value.filename == str(path)
    # The error survives pickling (it crosses process boundaries).
    again = pickle.loads(pickle.dumps(info.value))
    assert str(again) == str(info.value)


# Protocols other than 2, typed from the pickle format.
PROTOCOL_0_PAYLOAD = b"cos\nsystem\n(VTOUCH\ntR."
PROTOCOL_0_INST = b"(VTOUCH\nios\nsystem\n."


def protocol_4_payload(command):
    frame = (b'\x8c\x05posix\x94\x8c\x06system\x94\x93\x94' +
             b'\x8c' + bytes([len(command)]) + command.encode() +
             b'\x94\x85\x94R\x94.')
    return b'\x80\x04\x95' + struct.pack('<Q', len(frame)) + frame


@pytest.mark.parametrize('layout', ['zip', 'legacy'])
@pytest.mark.parametrize('kind', ['protocol 0', 'INST', 'protocol 4'])
def test_other_protocols_are_refused_naming_the_global(
        kind, layout, tmp_path):
    marker = tmp_path / 'payload-ran'
    command = f'touch {marker}'
    data = {
        'protocol 0': PROTOCOL_0_PAYLOAD.replace(b'TOUCH',
                                                 command.encode()),
        'INST': PROTOCOL_0_INST.replace(b'TOUCH', command.encode()),
        'protocol 4': protocol_4_payload(command),
    }[kind]
    path = tmp_path / 'proto.pth'
    (write_zip if layout == 'zip' else write_legacy)(path, data)
    with pytest.raises(UnsafeCheckpointError) as info:
        safe_load_checkpoint(str(path))
    message = str(info.value)
    assert str(path) in message
    assert ('posix.system' if kind == 'protocol 4' else 'os.system') \
        in message
    assert f'(protocol {0 if kind != "protocol 4" else 4})' in message
    assert not marker.exists()


def test_protocol_0_state_dict_is_refused_by_us(tmp_path):
    # A harmless torch.save with pickle_protocol=0: torch's weights-only
    # unpickler cannot read it and says only "Unsupported operand".
    path = tmp_path / 'p0.pth'
    torch.save(nn.Linear(2, 1).state_dict(), path, pickle_protocol=0)
    with pytest.raises(UnsupportedCheckpointError,
                       match=r'opcode PUT \(protocol 0\)') as info:
        safe_load_checkpoint(str(path))
    assert str(path) in str(info.value)


def test_legacy_hostile_file_names_file_and_global(tmp_path):
    class Payload:

        def __reduce__(self):
            return eval, (marker_code(tmp_path / 'payload-ran'), )

    path = tmp_path / 'legacy.pth'
    torch.save(dict(state_dict=nn.Linear(2, 1).state_dict(), x=Payload()),
               path, _use_new_zipfile_serialization=False)
    with pytest.raises(UnsafeCheckpointError,
                       match='builtins.eval') as info:
        safe_load_checkpoint(str(path))
    assert str(info.value).startswith(str(path))
    assert not (tmp_path / 'payload-ran').exists()


def test_formats_torch_cannot_load_safely(tmp_path):
    cases = {}
    cases['empty'] = (b'', 'empty')
    cases['garbage'] = (b'\xff\xfe not a checkpoint', 'not a pickle opcode')
    good = io.BytesIO()
    torch.save({'w': torch.ones(3)}, good)
    cases['truncated zip'] = (good.getvalue()[:200], 'zip archive')
    legacy = io.BytesIO()
    torch.save({'w': torch.ones(3)}, legacy,
               _use_new_zipfile_serialization=False)
    cases['truncated pickle'] = (legacy.getvalue()[:60], 'malformed')
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode='w') as archive:
        for member in ('storages', 'tensors', 'pickle'):
            info = tarfile.TarInfo(member)
            info.size = 1
            archive.addfile(info, io.BytesIO(b'.'))
    cases['legacy tar'] = (tar.getvalue(), '.tar format')
    script = io.BytesIO()
    torch.jit.save(torch.jit.script(nn.Linear(2, 1)), script)
    cases['TorchScript'] = (script.getvalue(), 'TorchScript')
    no_data = io.BytesIO()
    with zipfile.ZipFile(no_data, 'w') as archive:
        archive.writestr('archive/version', '3\n')
    cases['zip without data.pkl'] = (no_data.getvalue(), 'no data.pkl')
    for name, (data, expected) in cases.items():
        path = tmp_path / f'{name}.pth'
        path.write_bytes(data)
        with pytest.raises(UnsupportedCheckpointError) as info:
            safe_load_checkpoint(str(path))
        assert expected in str(info.value), (name, str(info.value))
        assert str(path) in str(info.value)


def test_file_objects_are_scanned_too(tmp_path):
    buffer = io.BytesIO(b'')
    write_zip(buffer, wrap(call(g('os', 'system'), s('true'))))
    buffer.seek(0)
    with pytest.raises(UnsafeCheckpointError, match='s3://b/k.pth'):
        safe_load_checkpoint(buffer, filename='s3://b/k.pth')


def legitimate_objects():
    quantised = torch.quantize_per_tensor(
        torch.tensor([0.1, -0.2, 0.3]), 0.1, 0, torch.qint8)
    base = torch.arange(6.)
    return dict(
        parameter=nn.Parameter(torch.ones(2)),
        state_dict=nn.Linear(2, 1).state_dict(),
        python=[1, -2**70, 2.5, 'ü', b'raw', bytearray(b'ab'),
                bytearray(), {1, 2}, complex(1, 2), (None, True),
                torch.Size([2, 3]), torch.device('cpu'),
                collections.Counter('aab')],
        arrays=[np.zeros(0), np.zeros((0, 3), np.float32), np.array(3.0),
                np.arange(4, dtype='>i4'), np.zeros((2, 2), order='F'),
                np.ones(3, np.uint64), np.array([True, False])],
        scalars=[np.float16(1), np.int8(-3), np.bool_(False),
                 np.float64(2.5), np.uint32(7)],
        quantised=quantised,
        sparse=torch.eye(3).to_sparse(),
        bfloat16=torch.ones(2, dtype=torch.bfloat16),
        view=base[2:4],
        base=base,
        meta=torch.empty(3, device='meta'))


def assert_same(a, b):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.device == b.device
        if a.device.type != 'meta':
            a, b = (x.dequantize() if x.is_quantized else x for x in (a, b))
            a, b = (x.to_dense() if x.is_sparse else x for x in (a, b))
            assert torch.equal(a, b)
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and np.array_equal(a, b)
        assert np.shape(a) == np.shape(b)
    else:
        assert a == b and type(a) is type(b)


@pytest.mark.filterwarnings('ignore::UserWarning')
@pytest.mark.parametrize('zip_format', [True, False], ids=['zip', 'legacy'])
def test_legitimate_checkpoints_load_as_torch_reads_them(zip_format,
                                                         tmp_path):
    path = tmp_path / 'legit.pth'
    torch.save(legitimate_objects(), path,
               _use_new_zipfile_serialization=zip_format)
    ours = safe_load_checkpoint(str(path))
    # The reference: torch's full unpickler on the same file.
    reference = torch.load(path, weights_only=False)
    assert_same(ours, reference)
    shared = ours['view'].untyped_storage().data_ptr()
    assert shared == ours['base'].untyped_storage().data_ptr()


def test_safetensors_files_load_without_pickle(tmp_path):
    from safetensors.torch import save_file
    path = tmp_path / 'weights.safetensors'
    save_file({'w': torch.arange(3.)}, str(path))
    assert torch.equal(safe_load_checkpoint(str(path))['w'],
                       torch.arange(3.))
