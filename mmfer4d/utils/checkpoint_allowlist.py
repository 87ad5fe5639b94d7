# Copyright (c) mmfer4d contributors. All rights reserved.
"""What an mmengine checkpoint may pickle beyond torch's own allow-list.

mmengine 0.10 saves checkpoints whose ``message_hub`` holds
:class:`mmengine.logging.HistoryBuffer` objects with numpy arrays and
scalars inside. Found by saving a real checkpoint with
:class:`mmengine.runner.Runner` (and an empty ``HistoryBuffer``), these
pickle, besides tensors and containers:

- ``mmengine.logging.history_buffer.HistoryBuffer`` (built with ``NEWOBJ``,
  then its own ``__setstate__``);
- ``builtins.getattr(HistoryBuffer, name)``, which rebuilds the unbound
  methods ``min/max/current/mean`` that ``HistoryBuffer.__getstate__``
  stores;
- ``numpy._core.multiarray._reconstruct(numpy.ndarray, (0,), b'b')`` and
  ``numpy.dtype('f8', False, True)`` for arrays, whose ``BUILD`` state holds
  the shape and the raw bytes; ``numpy._core.multiarray.scalar(dtype,
  bytes)`` for numpy scalars (numpy 1.x writes ``numpy.core.multiarray``);
- ``builtins.bytes()``: an empty array's raw data in pickle protocol 2.

None of these is allow-listed as itself, because each could do more than a
checkpoint needs: ``getattr`` reaches any attribute, ``bytes(n)`` and
``numpy.ndarray(shape)`` allocate whatever a number in the file says,
``_reconstruct`` takes any shape and ``numpy.dtype('O')`` makes object
arrays, which hold arbitrary objects and whose ``BUILD`` allocates from the
shape before it checks the data. Each name is bound to a stand-in that
accepts exactly what numpy and mmengine write and raises
:class:`pickle.UnpicklingError` for anything else:

- ``builtins.getattr`` -> :func:`_history_buffer_statistic`;
- ``builtins.bytes`` -> :func:`_empty_bytes` (no arguments only);
- ``numpy.dtype`` -> :func:`_numeric_dtype`: booleans, 8 to 64-bit
  integers and 16 to 64-bit floats. Object, string, structured, subarray,
  datetime and complex dtypes are refused, so **object arrays never load**;
- ``numpy.ndarray`` -> :data:`NDARRAY_REFERENCE`, a non-callable reference
  that only :func:`_empty_array` turns into the class;
- ``numpy._core.multiarray._reconstruct`` -> :func:`_empty_array` (the
  ``(0,)``-shaped start that numpy's pickles always use; the data comes
  with ``BUILD``, whose length numpy checks against the shape before it
  allocates);
- ``numpy._core.multiarray.scalar`` -> :func:`_numeric_scalar` (numeric
  dtype, data exactly one item long).

``BUILD`` needs the classes of the built objects (``numpy.ndarray``, the
numeric dtype classes) among the allowed values; they are registered under
names that contain a line break, which no ``GLOBAL`` opcode can spell, so a
pickle can never call them.
"""
import pickle
from typing import Any, Callable, Dict, FrozenSet, List, Tuple, Union

import numpy as np
from mmengine.logging import HistoryBuffer

__all__ = [
    'CALLABLE_GLOBALS', 'HISTORY_BUFFER_STATISTICS', 'NDARRAY_REFERENCE',
    'NEWOBJ_GLOBALS', 'NUMERIC_SCALAR_TYPES', 'REBUILD_FUNCTIONS',
    'is_numeric_dtype', 'mmengine_checkpoint_safe_globals',
    'safe_global_names'
]

SafeGlobal = Union[Callable, Tuple[Any, str]]

_multiarray = np._core.multiarray if hasattr(np, '_core') \
    else np.core.multiarray
_reconstruct = _multiarray._reconstruct
_scalar = _multiarray.scalar
_MULTIARRAY_NAMES = ('numpy._core.multiarray', 'numpy.core.multiarray')

# The methods ``HistoryBuffer._set_default_statistics`` registers and
# ``HistoryBuffer.__getstate__`` pickles (as ``getattr(HistoryBuffer, name)``).
HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')

NUMERIC_SCALAR_TYPES: FrozenSet[type] = frozenset([
    np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
    np.uint32, np.uint64, np.float16, np.float32, np.float64, np.longlong,
    np.ulonglong, np.intc, np.uintc
])

# A name no GLOBAL opcode can produce (torch reads module and name up to a
# line break each), for classes that BUILD must accept but nobody may call.
_BUILD_ONLY = '\n(BUILD target only)'


class _ClassReference:
    """Stands for a class in a pickle's arguments without being callable."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f'<reference to {self.name}>'


NDARRAY_REFERENCE = _ClassReference('numpy.ndarray')


def _refuse(call: str, why: str):
    raise pickle.UnpicklingError(f'refused {call}: {why}')


def _history_buffer_statistic(obj: Any, name: str) -> Callable:
    """Stand-in for ``builtins.getattr``.

    Returns:
        Callable: ``getattr(HistoryBuffer, name)`` for the four statistics.

    Raises:
        pickle.UnpicklingError: For any other object or attribute.
    """
    if obj is HistoryBuffer and name in HISTORY_BUFFER_STATISTICS:
        return getattr(HistoryBuffer, name)
    _refuse(
        f'getattr({obj!r}, {name!r})', 'mmfer4d only allows '
        f'getattr(HistoryBuffer, name) for name in '
        f'{HISTORY_BUFFER_STATISTICS}')


def _empty_bytes(*args) -> bytes:
    """Stand-in for ``builtins.bytes``: only ``bytes()``, which protocol 2
    writes for the data of an empty numpy array.

    Raises:
        pickle.UnpicklingError: If given any argument (``bytes(n)``
            allocates ``n`` bytes).
    """
    if args:
        _refuse(f'builtins.bytes{_short(args)}',
                'only bytes() without arguments is allowed')
    return b''


def is_numeric_dtype(dtype: Any) -> bool:
    """Whether ``dtype`` is a numpy boolean, integer or float dtype."""
    return (isinstance(dtype, np.dtype) and dtype.type in NUMERIC_SCALAR_TYPES
            and dtype.fields is None and dtype.subdtype is None)


def _numeric_dtype(spec: Any, align: Any = False, copy: Any = False):
    """Stand-in for ``numpy.dtype``: numeric type codes such as ``'f8'``.

    Raises:
        pickle.UnpicklingError: For anything else (object, string,
            structured, subarray, datetime, complex).
    """
    dtype = None
    if isinstance(spec, str) and len(spec) <= 8 and spec.isalnum():
        try:
            dtype = np.dtype(spec, bool(align), bool(copy))
        except (TypeError, ValueError):
            pass
    if not is_numeric_dtype(dtype):
        _refuse(
            f'numpy.dtype({spec!r})', 'only boolean, integer and float '
            'dtypes are allowed (object arrays may hold anything)')
    return dtype


def _empty_array(cls: Any, shape: Any, typecode: Any) -> np.ndarray:
    """Stand-in for ``numpy._core.multiarray._reconstruct``.

    Accepts only ``(numpy.ndarray, (0,), b'b')``, what
    ``numpy.ndarray.__reduce__`` writes; ``BUILD`` then sets the shape,
    dtype and data.

    Raises:
        pickle.UnpicklingError: For any other class, shape or type code.
    """
    if (cls is not NDARRAY_REFERENCE or type(shape) is not tuple
            or shape != (0, ) or typecode != b'b'):
        _refuse(f'_reconstruct({cls!r}, {_short(shape)}, {typecode!r})',
                "only _reconstruct(numpy.ndarray, (0,), b'b') is allowed")
    return _reconstruct(np.ndarray, (0, ), b'b')


def _numeric_scalar(dtype: Any, data: Any = None) -> Any:
    """Stand-in for ``numpy._core.multiarray.scalar``.

    Raises:
        pickle.UnpicklingError: Unless ``dtype`` is numeric and ``data`` is
            exactly one item of it.
    """
    if not (is_numeric_dtype(dtype) and isinstance(data, bytes)
            and len(data) == dtype.itemsize):
        _refuse(f'numpy scalar({dtype!r}, {_short(data)})',
                'only one item of a boolean, integer or float dtype')
    return _scalar(dtype, data)


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + '...'


def _numeric_dtype_classes() -> List[type]:
    """The dtype classes of :data:`NUMERIC_SCALAR_TYPES` (numpy >= 1.25)."""
    classes = []
    for scalar_type in NUMERIC_SCALAR_TYPES:
        cls = type(np.dtype(scalar_type))
        if cls is not np.dtype and cls not in classes:
            classes.append(cls)
    return classes


def mmengine_checkpoint_safe_globals() -> List[SafeGlobal]:
    """Items for :func:`torch.serialization.add_safe_globals`.

    Returns:
        list: ``HistoryBuffer`` itself, and ``(stand-in, name)`` pairs:
        the name a checkpoint pickles, bound to the narrow stand-in above,
        and the classes ``BUILD`` needs under names no pickle can spell.
    """
    safe_globals: List[SafeGlobal] = [
        HistoryBuffer,
        (_history_buffer_statistic, 'builtins.getattr'),
        (_empty_bytes, 'builtins.bytes'),
        (_numeric_dtype, 'numpy.dtype'),
        (NDARRAY_REFERENCE, 'numpy.ndarray'),
        (np.ndarray, 'numpy.ndarray' + _BUILD_ONLY),
    ]
    for module in _MULTIARRAY_NAMES:
        safe_globals.append((_empty_array, f'{module}._reconstruct'))
        safe_globals.append((_numeric_scalar, f'{module}.scalar'))
    for cls in _numeric_dtype_classes():
        safe_globals.append((cls, f'numpy.dtypes.{cls.__name__}' +
                             _BUILD_ONLY))
    return safe_globals


def safe_global_names() -> Dict[str, Any]:
    """Names a pickle may spell, mapped to what they load as."""
    names = {}
    for item in mmengine_checkpoint_safe_globals():
        obj, name = item if isinstance(item, tuple) else \
            (item, f'{item.__module__}.{item.__qualname__}')
        if _BUILD_ONLY not in name:
            names[name] = obj
    return names


# Globals a pickle may call with REDUCE (all others are only arguments:
# dtypes, storage types, numpy.ndarray, ...). torch's allow-list also lets
# a pickle call ``torch.Tensor(n)``, ``torch.UntypedStorage(n)`` or
# ``bytearray(n)``, which allocate n elements from one number in the file.
_REBUILD_FUNCTIONS = [
    f'torch._utils._rebuild_{kind}' for kind in (
        'tensor', 'tensor_v2', 'tensor_v3', 'parameter',
        'parameter_with_state', 'qtensor', 'sparse_tensor',
        'meta_tensor_no_storage', 'nested_tensor', 'wrapper_subclass',
        'device_tensor_from_numpy', 'device_tensor_from_cpu_tensor')
]
REBUILD_FUNCTIONS: FrozenSet[str] = frozenset(_REBUILD_FUNCTIONS)
CALLABLE_GLOBALS: FrozenSet[str] = REBUILD_FUNCTIONS | frozenset([
    'torch._tensor._rebuild_from_type_v2', 'collections.OrderedDict',
    'collections.Counter', 'torch.Size', 'torch.device',
    'torch.serialization._get_layout', '_codecs.encode', 'builtins.set',
    'builtins.complex', 'builtins.bytearray', 'builtins.getattr',
    'builtins.bytes', 'numpy.dtype'
] + [f'{m}.{f}' for m in _MULTIARRAY_NAMES for f in ('_reconstruct',
                                                     'scalar')])
# Classes a pickle may instantiate with NEWOBJ (``cls.__new__(cls)``).
NEWOBJ_GLOBALS: FrozenSet[str] = frozenset([
    'mmengine.logging.history_buffer.HistoryBuffer',
    'torch.nn.parameter.Parameter'
])
