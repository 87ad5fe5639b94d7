# Copyright (c) mmfer4d contributors. All rights reserved.
"""A symbolic walk over pickle opcodes, as torch's weights-only unpickler
reads them, that builds nothing.

Each opcode is read exactly as ``torch._weights_only_unpickler`` reads it
(module and name of ``GLOBAL`` in UTF-8 with torch's Python 2 name
mapping, the same argument sizes), so that the walk sees what torch would
build. The stack holds stand-ins: constants as themselves, globals as
their names, call results as the name and arguments, containers and
storages as opaque values. That is enough to tell which global each
``REDUCE``/``NEWOBJ`` calls and with which constant arguments.

An opcode outside torch's subset (protocols 0, 1, 3, 4, 5) ends the exact
walk; the rest of the pickle is then read with :mod:`pickletools`' argument
readers for the global names only (``GLOBAL``, ``INST``, and
``STACK_GLOBAL`` from the two strings pushed before it).
"""
import pickle
import pickletools
import struct
from pickle import decode_long
from typing import Any, BinaryIO, Dict, List, Optional

import torch
from torch._utils import IMPORT_MAPPING, NAME_MAPPING
from torch._weights_only_unpickler import _get_allowed_globals

from .checkpoint_allowlist import (CALLABLE_GLOBALS, NEWOBJ_GLOBALS,
                                   REBUILD_FUNCTIONS, safe_global_names)

__all__ = ['MalformedPickleError', 'PickleWalk']

# Every opcode torch's weights-only unpickler implements.
_SUPPORTED = frozenset(
    getattr(pickle, name)[0]
    for name in ('APPEND', 'APPENDS', 'BINFLOAT', 'BINGET', 'BININT',
                 'BININT1', 'BININT2', 'BINPERSID', 'BINPUT', 'BINUNICODE',
                 'BUILD', 'EMPTY_DICT', 'EMPTY_LIST', 'EMPTY_SET',
                 'EMPTY_TUPLE', 'GLOBAL', 'LONG1', 'LONG_BINGET',
                 'LONG_BINPUT', 'MARK', 'NEWFALSE', 'NEWOBJ', 'NEWTRUE',
                 'NONE', 'PROTO', 'REDUCE', 'SETITEM', 'SETITEMS',
                 'SHORT_BINSTRING', 'STOP', 'TUPLE', 'TUPLE1', 'TUPLE2',
                 'TUPLE3'))
_OPCODES = {ord(op.code): op for op in pickletools.opcodes}
_CONSTANTS = {
    pickle.NONE[0]: None,
    pickle.NEWTRUE[0]: True,
    pickle.NEWFALSE[0]: False,
    pickle.EMPTY_TUPLE[0]: ()
}
_FIXED = {  # opcode: (bytes, struct format)
    pickle.BININT[0]: (4, '<i'),
    pickle.BININT1[0]: (1, '<B'),
    pickle.BININT2[0]: (2, '<H'),
    pickle.BINFLOAT[0]: (8, '>d')
}


class MalformedPickleError(ValueError):
    """The bytes are not a well-formed pickle."""


class _Global:
    __slots__ = ('name', )

    def __init__(self, name):
        self.name = name


class _Result:
    """The value of a call the scan allowed."""
    __slots__ = ('name', 'args')

    def __init__(self, name, args):
        self.name, self.args = name, args


_OPAQUE = object()  # containers, storages: contents do not matter here


def _read_global(readline) -> str:
    """``module.name`` exactly as torch's unpickler reads it."""
    module = readline()[:-1].decode('utf-8')
    name = readline()[:-1].decode('utf-8')
    if (module, name) in NAME_MAPPING:
        module, name = NAME_MAPPING[(module, name)]
    elif module in IMPORT_MAPPING:
        module = IMPORT_MAPPING[module]
    return f'{module}.{name}'


def _element_size(storage_type: Any) -> int:
    name = getattr(storage_type, 'name', '')
    if name.endswith('UntypedStorage'):
        return 1
    try:
        dtype = torch.serialization.StorageType(name.rsplit('.', 1)[-1]).dtype
        return torch._utils._element_size(dtype)
    except Exception:  # an unknown storage type: torch refuses it anyway
        return 1


def _text(value: Any) -> Any:
    return value.decode('utf-8', 'replace') if isinstance(value,
                                                          bytes) else value


def _numel(shape: Any) -> Optional[int]:
    if type(shape) is not tuple or not all(type(n) is int for n in shape):
        return None
    numel = 1
    for n in shape:
        numel *= max(n, 0)
    return numel


def _short(args: Any) -> str:

    def one(arg):
        if isinstance(arg, _Global):
            return arg.name
        if isinstance(arg, _Result):
            return f'{arg.name}(...)'
        if arg is _OPAQUE:
            return '...'
        text = repr(arg)
        return text if len(text) <= 24 else text[:24] + '...'

    if type(args) is not tuple:
        return '(*...)'
    return '(' + ', '.join(one(a) for a in args[:4]) + \
        (', ...)' if len(args) > 4 else ')')


class PickleWalk:
    """The symbolic walk over one file's pickles.

    Call :meth:`walk` once per pickle; what it refuses collects in
    :attr:`names` (globals outside the allow-list), :attr:`unsafe` (calls
    that could allocate or that only arguments may be) and
    :attr:`unsupported` (opcodes torch cannot read).

    Args:
        size (int): The file's size in bytes: tensor storages (and
            quantised shapes) may not claim more.
    """

    def __init__(self, size: int):
        self.size = size
        self.known = set(_get_allowed_globals()) | set(safe_global_names())
        self.names: List[str] = []  # refused globals
        self.unsafe: List[str] = []  # other refused calls
        self.unsupported: List[str] = []
        self.storage_bytes: Dict[Any, int] = {}

    def note(self, bucket: List[str], text: str) -> None:
        if text not in bucket:
            bucket.append(text)

    def _check_call(self, name: str, args: Any) -> None:
        if name not in CALLABLE_GLOBALS:
            if name in self.known:  # unknown names are reported already
                self.note(
                    self.unsafe, f'it calls {name}{_short(args)}, '
                    'which may only appear as an argument')
            return
        refused = False
        if name == 'builtins.bytearray':
            refused = type(args) is not tuple or len(args) > 2 or not all(
                isinstance(a, (str, bytes)) or
                (isinstance(a, _Result) and a.name == '_codecs.encode')
                for a in args)
        elif name == 'builtins.bytes':
            refused = args != ()
        elif name == 'torch._tensor._rebuild_from_type_v2':
            if (type(args) is not tuple or len(args) != 4
                    or not isinstance(args[0], _Global)
                    or args[0].name not in REBUILD_FUNCTIONS):
                refused = True
            else:
                self._check_call(args[0].name, args[2])
        elif name == 'torch._utils._rebuild_qtensor':
            numel = _numel(
                args[2]) if type(args) is tuple and len(args) > 2 else None
            refused = numel is None or numel * 4 > self.size
        if refused:
            self.note(
                self.unsafe, f'it calls {name}{_short(args)}, which '
                'could allocate more than the file holds')

    def _persistent(self, pid: Any) -> None:
        if (type(pid) is tuple and len(pid) >= 5 and _text(pid[0]) == 'storage'
                and type(pid[4]) is int):
            nbytes = pid[4] * _element_size(pid[1])
            key = _text(pid[2])
            self.storage_bytes[key] = max(nbytes,
                                          self.storage_bytes.get(key, 0))

    def walk(self, f: BinaryIO) -> None:
        """Walk one pickle from ``f``'s position to its ``STOP``."""
        read, readline = f.read, f.readline
        stack: List[Any] = []
        metastack: List[List[Any]] = []
        memo: Dict[int, Any] = {}

        def pop_mark():
            nonlocal stack
            items, stack = stack, metastack.pop()
            return items

        while True:
            offset = f.tell()
            key = read(1)
            if not key:
                raise MalformedPickleError(
                    f'it ends inside a pickle (byte {offset})')
            op = key[0]
            if op not in _SUPPORTED:
                return self._names_only(f, op, offset)
            if op == pickle.GLOBAL[0]:
                name = _read_global(readline)
                if name not in self.known:
                    self.note(self.names, name)
                stack.append(_Global(name))
            elif op in _CONSTANTS:
                stack.append(_CONSTANTS[op])
            elif op in _FIXED:
                size, fmt = _FIXED[op]
                stack.append(struct.unpack(fmt, read(size))[0])
            elif op == pickle.BINUNICODE[0]:
                (length, ) = struct.unpack('<I', read(4))
                stack.append(read(length).decode('utf-8', 'surrogatepass'))
            elif op == pickle.SHORT_BINSTRING[0]:
                stack.append(read(read(1)[0]))
            elif op == pickle.LONG1[0]:
                stack.append(decode_long(read(read(1)[0])))
            elif op in (pickle.BINPUT[0], pickle.LONG_BINPUT[0]):
                index = read(1)[0] if op == pickle.BINPUT[0] else \
                    struct.unpack('<I', read(4))[0]
                memo[index] = stack[-1]
            elif op in (pickle.BINGET[0], pickle.LONG_BINGET[0]):
                index = read(1)[0] if op == pickle.BINGET[0] else \
                    struct.unpack('<I', read(4))[0]
                stack.append(memo[index])
            elif op == pickle.MARK[0]:
                metastack.append(stack)
                stack = []
            elif op == pickle.TUPLE[0]:
                items = tuple(pop_mark())  # rebinds ``stack`` first
                stack.append(items)
            elif op in (pickle.TUPLE1[0], pickle.TUPLE2[0], pickle.TUPLE3[0]):
                n = 1 + (op - pickle.TUPLE1[0])
                if len(stack) < n:
                    raise IndexError('stack underflow')
                stack[-n:] = [tuple(stack[-n:])]
            elif op in (pickle.EMPTY_LIST[0], pickle.EMPTY_DICT[0],
                        pickle.EMPTY_SET[0]):
                stack.append(_OPAQUE)
            elif op in (pickle.APPEND[0], pickle.BUILD[0]):
                stack.pop()
                stack[-1]  # noqa: B018 - the target must exist
            elif op == pickle.SETITEM[0]:
                del stack[-2:]
                stack[-1]  # noqa: B018
            elif op in (pickle.APPENDS[0], pickle.SETITEMS[0]):
                pop_mark()
                stack[-1]  # noqa: B018
            elif op == pickle.BINPERSID[0]:
                self._persistent(stack.pop())
                stack.append(_OPAQUE)
            elif op == pickle.REDUCE[0]:
                args, func = stack.pop(), stack[-1]
                if not isinstance(func, _Global):
                    self.note(self.unsafe,
                              'it calls an object that is not a global')
                    name = '?'
                else:
                    name = func.name
                    self._check_call(name, args)
                stack[-1] = _Result(name, args)
            elif op == pickle.NEWOBJ[0]:
                args, cls = stack.pop(), stack.pop()
                name = cls.name if isinstance(cls, _Global) else '?'
                if name == '?' or (name not in NEWOBJ_GLOBALS
                                   and name in self.known):
                    self.note(
                        self.unsafe, f'it instantiates {name}{_short(args)}'
                        ', which only HistoryBuffer and Parameter may be')
                stack.append(_Result(name, args))
            elif op == pickle.PROTO[0]:
                read(1)
            elif op == pickle.STOP[0]:
                stack.pop()
                return

    def _names_only(self, f: BinaryIO, op: int, offset: int) -> None:
        """Past an opcode torch cannot read: collect global names only."""
        info = _OPCODES.get(op)
        if info is None:
            raise MalformedPickleError(
                f'byte {offset} (0x{op:02x}) is not a pickle '
                'opcode')
        self.note(
            self.unsupported, f'it uses pickle opcode {info.name} '
            f'(protocol {info.proto}) at byte {offset}, which the '
            'weights-only unpickler does not read')
        recent: List[Any] = []  # values pushed, strings kept (STACK_GLOBAL)
        memo: Dict[int, Any] = {}
        while True:
            if info.name in ('GLOBAL', 'INST'):
                name = _read_global(f.readline)
                if name not in self.known:
                    self.note(self.names, name)
                recent.append(None)
            else:
                arg = info.arg.reader(f) if info.arg is not None else None
                if info.name == 'STOP':
                    return
                if info.name == 'STACK_GLOBAL':
                    name = '.'.join(str(s) for s in recent[-2:])
                    if name not in self.known:
                        self.note(self.names, name)
                if info.name == 'MEMOIZE':
                    memo[len(memo)] = recent[-1] if recent else None
                elif info.name in ('PUT', 'BINPUT', 'LONG_BINPUT'):
                    memo[arg] = recent[-1] if recent else None
                elif info.name in ('GET', 'BINGET', 'LONG_BINGET'):
                    recent.append(memo.get(arg))
                elif info.name not in ('FRAME', 'PROTO'):
                    recent.append(arg if isinstance(arg, str) else None)
            offset = f.tell()
            key = f.read(1)
            if not key:
                raise MalformedPickleError(
                    f'it ends inside a pickle (byte {offset})')
            info = _OPCODES.get(key[0])
            if info is None:
                raise MalformedPickleError(
                    f'byte {offset} (0x{key[0]:02x}) is not a '
                    'pickle opcode')

    def storage_overrun(self) -> Optional[str]:
        """Why the storages are refused, if they claim more than the file."""
        total = sum(self.storage_bytes.values())
        if total > self.size:
            return (f'its tensor storages claim {total} bytes, more than '
                    f'the file\'s {self.size}')
        return None
