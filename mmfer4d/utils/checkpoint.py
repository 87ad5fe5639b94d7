# Copyright (c) mmfer4d contributors. All rights reserved.
"""Loading mmengine checkpoints with ``torch.load(weights_only=True)``.

Since torch 2.6, ``torch.load`` unpickles with ``weights_only=True`` unless
told otherwise: only tensors, containers and allow-listed globals may be
built. mmengine 0.10.7 saves (and its ``load_checkpoint`` /
``CheckpointLoader`` reload, through a plain ``torch.load``) checkpoints whose
``message_hub`` holds :class:`mmengine.logging.HistoryBuffer` objects with
numpy arrays inside, so ``tools/test.py`` and ``--resume`` fail.

Instead of turning ``weights_only`` off,
:func:`register_checkpoint_safe_globals` allow-lists exactly the globals such
a checkpoint pickles, found by saving a real checkpoint with
:class:`mmengine.runner.Runner` and listing them with
``torch.serialization.get_unsafe_globals_in_checkpoint``:

- ``mmengine.logging.history_buffer.HistoryBuffer`` (the logged scalars);
- ``builtins.getattr``, which pickle uses to rebuild the unbound methods
  ``HistoryBuffer.min/max/current/mean`` that ``HistoryBuffer.__getstate__``
  stores. A real ``getattr`` would let a checkpoint reach any attribute of any
  allowed object, so the name is bound to :func:`_history_buffer_statistic`,
  which returns only those four methods and refuses everything else;
- ``numpy.ndarray``, ``numpy.dtype``, ``numpy._core.multiarray._reconstruct``
  and ``numpy._core.multiarray.scalar`` (arrays and scalars in the history),
  also under their numpy 1.x names ``numpy.core.multiarray.*`` so that
  checkpoints written with numpy 1.x load as well;
- the numpy dtype classes of booleans, integers and floats
  (``numpy.dtypes.Float64DType`` ...), which ``BUILD`` needs to restore a
  ``numpy.dtype`` (numpy >= 1.25). Logged Python floats and ints give float64
  and int64; the other fixed-size numeric types cover metrics logged as
  float32/float16 numpy scalars. Object, string and structured dtypes stay
  refused.

Everything else (a custom class, ``os.system`` through ``__reduce__`` ...)
is still refused by torch's unpickler before it runs. mmengine's local
checkpoint loader is wrapped so that the refusal names the file.
"""
import os.path as osp
import pickle
from typing import Any, Callable, List, Optional, Tuple, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

__all__ = [
    'UnsafeCheckpointError', 'mmengine_checkpoint_safe_globals',
    'register_checkpoint_safe_globals', 'load_from_local'
]

SafeGlobal = Union[Callable, Tuple[Callable, str]]

# The methods ``HistoryBuffer._set_default_statistics`` registers and
# ``HistoryBuffer.__getstate__`` pickles (as ``getattr(HistoryBuffer, name)``).
_HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint pickles a global that is not allow-listed.

    Subclass of :class:`pickle.UnpicklingError` (what ``torch.load`` raises),
    so existing handlers still catch it; the message names the file.
    """


def _history_buffer_statistic(obj: Any, name: str) -> Callable:
    """Stand-in for ``builtins.getattr`` while unpickling a checkpoint.

    Args:
        obj (Any): The object pickle wants an attribute of; must be
            :class:`mmengine.logging.HistoryBuffer`.
        name (str): The attribute; one of ``'min'``, ``'max'``,
            ``'current'``, ``'mean'``.

    Returns:
        Callable: The unbound ``HistoryBuffer`` method.

    Raises:
        pickle.UnpicklingError: For any other object or attribute.
    """
    if obj is HistoryBuffer and name in _HISTORY_BUFFER_STATISTICS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'refused getattr({obj!r}, {name!r}): mmfer4d only allows '
        f'getattr(HistoryBuffer, name) for name in '
        f'{_HISTORY_BUFFER_STATISTICS}')


def _numpy_dtype_classes() -> List[type]:
    """The dtype classes of numpy's boolean, integer and float types."""
    scalar_types = [np.bool_, np.float16, np.float32, np.float64]
    for bits in (8, 16, 32, 64):
        scalar_types += [getattr(np, f'int{bits}'), getattr(np, f'uint{bits}')]
    # np.longlong etc. may be distinct classes from int64 on some platforms.
    scalar_types += [np.longlong, np.ulonglong, np.intc, np.uintc]
    classes = []
    for scalar_type in scalar_types:
        cls = type(np.dtype(scalar_type))
        if cls is not np.dtype and cls not in classes:
            classes.append(cls)
    return classes


def mmengine_checkpoint_safe_globals() -> List[SafeGlobal]:
    """The globals an mmengine checkpoint needs with ``weights_only=True``.

    Returns:
        list: Items for :func:`torch.serialization.add_safe_globals`: objects,
        or ``(object, 'module.qualname')`` pairs where the name in the
        checkpoint differs from the object's own (numpy 1.x names, and
        ``builtins.getattr`` bound to the restricted stand-in).
    """
    multiarray = np._core.multiarray if hasattr(np, '_core') \
        else np.core.multiarray
    reconstruct, scalar = multiarray._reconstruct, multiarray.scalar
    safe_globals: List[SafeGlobal] = [
        HistoryBuffer,
        (_history_buffer_statistic, 'builtins.getattr'),
        np.ndarray,
        np.dtype,
    ]
    for module in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        safe_globals.append((reconstruct, f'{module}._reconstruct'))
        safe_globals.append((scalar, f'{module}.scalar'))
    safe_globals += _numpy_dtype_classes()
    return safe_globals


def _refusal_reason(filename: str, error: Exception) -> str:
    """Why torch refused ``filename``, without its boilerplate."""
    try:
        unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(
            filename)
    except Exception:  # legacy (non-zip) files cannot be scanned
        unsafe = []
    if unsafe:
        return (f'it pickles {", ".join(unsafe)}, which '
                f'{"is" if len(unsafe) == 1 else "are"} not allow-listed')
    text = str(error)
    marker = 'WeightsUnpickler error:'
    if marker in text:
        text = text.split(marker, 1)[1]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else repr(error)


def load_from_local(filename: str,
                    map_location: Optional[Union[str, Callable,
                                                 torch.device]] = None
                    ) -> Any:
    """Load a local checkpoint with ``weights_only=True``.

    Registered as mmengine's loader for local paths, so that
    ``mmengine.runner.load_checkpoint``, ``Runner.load_checkpoint`` and
    ``Runner.resume`` (hence ``tools/test.py`` and ``--resume``) use it.

    Args:
        filename (str): Path of the checkpoint; ``~`` is expanded.
        map_location (str | Callable | torch.device, optional): Same as in
            :func:`torch.load`. Defaults to None.

    Returns:
        Any: The unpickled checkpoint, usually a dict.

    Raises:
        FileNotFoundError: If ``filename`` is not a file.
        UnsafeCheckpointError: If the checkpoint pickles a global that is
            not allow-listed; the message names the file and the global.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    try:
        return torch.load(
            filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        raise UnsafeCheckpointError(
            f'{filename}: refused to load the checkpoint: '
            f'{_refusal_reason(filename, error)}. Only tensors, numpy '
            'arrays/scalars and mmengine HistoryBuffers are allowed. If you '
            'trust the file, '
            'load it yourself with torch.load(..., weights_only=False).'
        ) from error


def register_checkpoint_safe_globals() -> None:
    """Allow-list mmengine's checkpoint globals and name refused files.

    Idempotent. Called when :mod:`mmfer4d` is imported, so our tools and
    mmpretrain's/mmengine's tools (through ``custom_imports``) load mmengine
    checkpoints with ``weights_only=True``.
    """
    torch.serialization.add_safe_globals(mmengine_checkpoint_safe_globals())
    # The registered loader named ``load_from_local`` keeps mmengine's log
    # line "Loads checkpoint by local backend".
    if CheckpointLoader._get_checkpoint_loader('') is not load_from_local:
        CheckpointLoader.register_scheme(
            prefixes='', loader=load_from_local, force=True)
