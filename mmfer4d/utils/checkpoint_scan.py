# Copyright (c) mmfer4d contributors. All rights reserved.
"""Reading a torch checkpoint's pickles without running them.

:func:`scan_checkpoint` walks the pickle opcodes that ``torch.load`` would
unpickle (``data.pkl`` of a zip checkpoint, the five pickles of a legacy
``_use_new_zipfile_serialization=False`` file) on a symbolic stack, with
torch's own rules for reading each opcode, and refuses, before anything is
built:

- any global outside torch's weights-only allow-list and mmfer4d's (see
  :mod:`mmfer4d.utils.checkpoint_allowlist`), naming every one;
- a call (``REDUCE``/``NEWOBJ``) of a global that may only be an argument,
  e.g. ``torch.UntypedStorage(n)`` or ``torch.Tensor(n)``, and
  ``bytearray(n)``, ``bytes(n)``, a quantised tensor shape or storage sizes
  that claim more bytes than the file holds: torch's allow-list admits these
  and they allocate from one number in the file;
- opcodes that torch's weights-only unpickler does not implement (pickle
  protocols 0, 1, 3, 4 and 5 beyond protocol 2's binary subset), the legacy
  ``.tar`` format, TorchScript archives and malformed pickles, with our
  error instead of torch's generic text. After such an opcode the scan goes
  on reading names only, so that a hostile protocol-0 file still names its
  globals.

The scan is a second, stricter gate in front of torch's unpickler, which
still enforces its own allow-list when the file is then loaded.
"""
import io
import pickle
import struct
import tarfile
from typing import BinaryIO, Sequence

import torch

from .pickle_walk import MalformedPickleError, PickleWalk

__all__ = [
    'CheckpointRefusedError', 'UnsafeCheckpointError',
    'UnsupportedCheckpointError', 'scan_checkpoint'
]


class CheckpointRefusedError(pickle.UnpicklingError):
    """A checkpoint that mmfer4d refuses to unpickle.

    Subclass of :class:`pickle.UnpicklingError` (what ``torch.load``
    raises), so existing handlers still catch it.

    Args:
        filename (str): The file (or URL and cache file) refused.
        reasons (Sequence[str]): Why; they name the globals.
        names (Sequence[str]): The refused globals, if any.
    """
    headline = 'refused to load the checkpoint'
    advice = ''

    def __init__(self,
                 filename: str,
                 reasons: Sequence[str],
                 names: Sequence[str] = ()):
        self.filename = filename
        self.reasons = list(reasons)
        self.names = list(names)
        super().__init__(f'{filename}: {self.headline}: '
                         f'{"; ".join(self.reasons)}. {self.advice}')

    def __reduce__(self):
        return type(self), (self.filename, self.reasons, self.names)


class UnsafeCheckpointError(CheckpointRefusedError):
    """The checkpoint pickles a global, or a call, outside the allow-list."""
    advice = ('Only tensors, numpy arrays/scalars of boolean, integer and '
              'float dtypes and mmengine HistoryBuffers are allowed. If you '
              'trust the file, load it yourself with '
              'torch.load(..., weights_only=False).')


class UnsupportedCheckpointError(CheckpointRefusedError):
    """The checkpoint is in a form the weights-only loader cannot read."""
    headline = 'cannot load the checkpoint safely'
    advice = ('If you trust the file, load it with torch.load(..., '
              'weights_only=False) and save it again with torch.save '
              '(zip format, pickle protocol 2).')


# The pickles of a legacy file: magic number, protocol version, system
# info, the object, the storage keys (raw storage bytes follow).
_LEGACY_PICKLES = 5


def _refuse(walk: PickleWalk, filename: str) -> None:
    """Raise what the walk found, if anything."""
    overrun = walk.storage_overrun()
    if overrun:
        walk.note(walk.unsafe, overrun)
    if walk.names:
        shown = ', '.join(walk.names[:8]) + \
            (', ...' if len(walk.names) > 8 else '')
        reasons = [f'it pickles {shown}, which '
                   f'{"is" if len(walk.names) == 1 else "are"} not '
                   'allow-listed']
        raise UnsafeCheckpointError(
            filename, reasons + walk.unsafe + walk.unsupported, walk.names)
    if walk.unsafe:
        raise UnsafeCheckpointError(filename, walk.unsafe + walk.unsupported)
    if walk.unsupported:
        raise UnsupportedCheckpointError(filename, walk.unsupported)


def _is_tar(f: BinaryIO) -> bool:
    """torch's test for the pre-0.4 ``.tar`` checkpoint format."""
    start = f.tell()
    try:
        tarfile.open(fileobj=f, mode='r:', format=tarfile.PAX_FORMAT)
        return True
    except tarfile.TarError:
        return False
    finally:
        f.seek(start)


def scan_checkpoint(f: BinaryIO, filename: str) -> None:
    """Refuse a checkpoint whose pickles do more than build weights.

    Args:
        f (BinaryIO): The open, seekable checkpoint, at its start; it is
            left there.
        filename (str): Named in the errors.

    Raises:
        UnsafeCheckpointError: If a pickle names a global outside the
            allow-list or calls one that may only be an argument, or
            allocates more than the file holds; every refused global is
            named (``.names``).
        UnsupportedCheckpointError: For an empty file, the legacy ``.tar``
            format, a TorchScript archive, a malformed pickle, or pickle
            opcodes torch's weights-only unpickler does not read.
    """
    start = f.tell()
    size = f.seek(0, io.SEEK_END) - start
    f.seek(start)
    if size == 0:
        raise UnsupportedCheckpointError(filename, ['the file is empty'])
    walk = PickleWalk(size)
    try:
        if f.read(4) == b'PK\x03\x04':  # what torch.load tests
            f.seek(start)
            data = _zip_data_pickle(f, filename)
            walk.walk(io.BytesIO(data))
        else:
            f.seek(start)
            if _is_tar(f):
                raise UnsupportedCheckpointError(filename, [
                    'it is in the legacy .tar format (torch < 0.4), which '
                    'torch cannot load with weights_only=True'
                ])
            for _ in range(_LEGACY_PICKLES):
                if not f.read(1):
                    break
                f.seek(-1, io.SEEK_CUR)
                walk.walk(f)
    except (IndexError, KeyError, ValueError, struct.error,
            UnicodeDecodeError) as error:
        # ValueError: pickletools' argument readers (and
        # MalformedPickleError); IndexError/KeyError: stack or memo
        # underflow.
        walk.note(
            walk.unsupported, f'its pickle is malformed ({error})'
            if isinstance(error, MalformedPickleError) else
            f'its pickle is malformed ({type(error).__name__}: {error})')
    finally:
        f.seek(start)
    _refuse(walk, filename)


def _zip_data_pickle(f: BinaryIO, filename: str) -> bytes:
    """``data.pkl`` of a zip checkpoint, read by torch's own zip reader."""
    start = f.tell()
    try:
        reader = torch._C.PyTorchFileReader(f)
        records = reader.get_all_records()
    except RuntimeError as error:
        first = str(error).strip().splitlines()[0] if str(error) else ''
        raise UnsupportedCheckpointError(
            filename, [f'it is not a readable zip archive ({first})'])
    if 'constants.pkl' in records:
        raise UnsupportedCheckpointError(filename, [
            'it is a TorchScript archive (torch.jit.save), which '
            'runs code when loaded; use torch.jit.load only if you trust it'
        ])
    if 'data.pkl' not in records:
        raise UnsupportedCheckpointError(
            filename, ['its zip archive has no data.pkl record'])
    data = reader.get_record('data.pkl')
    f.seek(start)
    return data
