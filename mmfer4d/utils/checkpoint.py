# Copyright (c) mmfer4d contributors. All rights reserved.
"""The one loader every mmfer4d checkpoint goes through.

Since torch 2.6, ``torch.load`` unpickles with ``weights_only=True`` unless
told otherwise; mmengine 0.10's checkpoint loaders call plain
``torch.load`` for local files and torch hub's ``load_state_dict_from_url``
(``weights_only=False``: it runs whatever the file pickles) for
``http(s)://``, ``open-mmlab://``, ``torchvision://`` and ``mmcls://``.

:func:`safe_load_checkpoint` is the single door: it scans the file's pickles
(:func:`~mmfer4d.utils.checkpoint_scan.scan_checkpoint`), then loads them
with ``torch.load(weights_only=True)`` and mmfer4d's narrow allow-list
(:mod:`~mmfer4d.utils.checkpoint_allowlist`), then checks the
``HistoryBuffer`` objects it built. ``.safetensors`` files (no pickle) load
with :mod:`safetensors`. :func:`register_checkpoint_safe_globals`, called
when :mod:`mmfer4d` is imported, registers the allow-list with torch and
re-registers every scheme of mmengine's ``CheckpointLoader``
(:mod:`~mmfer4d.utils.checkpoint_schemes`) so that ``load_checkpoint``,
``Runner(load_from=...)``, ``--resume``, ``init_cfg=dict(type='Pretrained',
checkpoint=...)``, ``tools/test.py`` and ``tools/infer.py`` use it for
local paths, URLs (through the torch hub cache) and every prefix alike.
"""
import os
import os.path as osp
import pickle
from typing import Any, BinaryIO, Callable, Optional, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

from .checkpoint_allowlist import (HISTORY_BUFFER_STATISTICS, is_numeric_dtype,
                                   mmengine_checkpoint_safe_globals,
                                   safe_global_names)
from .checkpoint_scan import (CheckpointRefusedError, UnsafeCheckpointError,
                              UnsupportedCheckpointError, scan_checkpoint)

__all__ = [
    'CheckpointRefusedError', 'UnsafeCheckpointError',
    'UnsupportedCheckpointError', 'mmengine_checkpoint_safe_globals',
    'register_checkpoint_safe_globals', 'safe_load_checkpoint',
    'load_from_local'
]

_FOREIGN_STATISTICS = ('a HistoryBuffer in it has statistics methods other '
                       'than mmengine\'s min/max/current/mean')

MapLocation = Optional[Union[str, Callable, torch.device, dict]]


def _safe_global_key(item: Any) -> str:
    """The name torch files an ``add_safe_globals`` item under."""
    if isinstance(item, tuple):
        return item[1]
    return f'{item.__module__}.{item.__qualname__}'


def _check_registration() -> None:
    """(Re-)register our allow-list; refuse if other code rebound a name.

    Raises:
        RuntimeError: If another package allow-listed one of our names
            (e.g. ``numpy.dtype``) as something else, which torch would
            then pick at random.
    """
    ours = safe_global_names()
    clashes = sorted({
        _safe_global_key(item)
        for item in torch.serialization.get_safe_globals()
        if _safe_global_key(item) in ours and (item[0] if isinstance(
            item, tuple) else item) is not ours[_safe_global_key(item)]
    })
    if clashes:
        raise RuntimeError(
            f'other code allow-listed {", ".join(clashes)} with '
            'torch.serialization.add_safe_globals; mmfer4d binds these '
            'names to checked stand-ins and cannot load checkpoints safely '
            'while they are bound to something else')
    torch.serialization.add_safe_globals(mmengine_checkpoint_safe_globals())


def _check_history_buffers(obj: Any, filename: str, depth: int = 0) -> None:
    """Every ``HistoryBuffer`` holds numeric arrays and mmengine's methods.

    Raises:
        UnsafeCheckpointError: Otherwise (``HistoryBuffer.statistics``
            would call whatever the checkpoint put in its method table).
    """
    if depth > 64:
        return
    if isinstance(obj, dict):
        for value in obj.values():
            _check_history_buffers(value, filename, depth + 1)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            _check_history_buffers(value, filename, depth + 1)
    elif isinstance(obj, HistoryBuffer):
        methods = getattr(obj, '_statistics_methods', {})
        allowed = [
            getattr(HistoryBuffer, n) for n in HISTORY_BUFFER_STATISTICS
        ]
        histories = [
            getattr(obj, '_log_history', None),
            getattr(obj, '_count_history', None)
        ]
        if not (isinstance(methods, dict) and all(
                any(m is a for a in allowed) for m in methods.values())):
            raise UnsafeCheckpointError(filename, [_FOREIGN_STATISTICS])
        if not all(
                isinstance(h, np.ndarray) and is_numeric_dtype(h.dtype)
                for h in histories):
            raise UnsafeCheckpointError(filename, [
                'a HistoryBuffer in it holds something other than numeric '
                'numpy arrays'
            ])


def _load_safetensors(path: str, map_location: MapLocation) -> dict:
    from safetensors.torch import load_file
    device = str(map_location) if isinstance(map_location,
                                             (str, torch.device)) else 'cpu'
    return load_file(path, device=device)


def safe_load_checkpoint(file: Union[str, os.PathLike, BinaryIO],
                         map_location: MapLocation = None,
                         *,
                         filename: Optional[str] = None) -> Any:
    """Load a checkpoint without running anything it pickles.

    Args:
        file (str | PathLike | BinaryIO): A local path (``~`` expanded) or
            an open, seekable binary file (at the checkpoint's start).
        map_location (str | Callable | torch.device | dict, optional): As
            in :func:`torch.load`. Defaults to None.
        filename (str, optional): What errors call the file (e.g. the URL
            and its cache path). Defaults to the path or the file's name.

    Returns:
        Any: The unpickled checkpoint, usually a dict.

    Raises:
        FileNotFoundError: If a path is not a file.
        UnsafeCheckpointError: If it pickles a global outside the
            allow-list, a call that could allocate more than the file holds,
            or a ``HistoryBuffer`` with foreign contents; the message names
            the file and the globals.
        UnsupportedCheckpointError: For a format the weights-only loader
            cannot read (pickle protocols other than 2, legacy ``.tar``,
            TorchScript, malformed pickles, empty files).
        RuntimeError: If other code rebound one of mmfer4d's allow-listed
            names.
    """
    if isinstance(file, (str, os.PathLike)):
        path = osp.expanduser(os.fspath(file))
        filename = filename or path
        if not osp.isfile(path):
            raise FileNotFoundError(f'{path} can not be found.')
        if path.endswith('.safetensors'):
            return _load_safetensors(path, map_location)
        with open(path, 'rb') as f:
            scan_checkpoint(f, filename)
        source: Any = path
    else:
        filename = filename or str(getattr(file, 'name', '<file object>'))
        scan_checkpoint(file, filename)
        source = file
    _check_registration()
    # HistoryBuffer.__setstate__ merges a pickled method table into the
    # class-wide one: undo any change, whether the load succeeds or not.
    statistics = dict(HistoryBuffer._statistics_methods)
    expected = dict(statistics)  # __setstate__ adds the defaults if absent
    for name in HISTORY_BUFFER_STATISTICS:
        expected.setdefault(name, getattr(HistoryBuffer, name))
    try:
        checkpoint = torch.load(
            source, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        raise UnsafeCheckpointError(filename,
                                    [_torch_reason(error)]) from error
    finally:
        changed = HistoryBuffer._statistics_methods not in (statistics,
                                                            expected)
        if changed:
            HistoryBuffer._statistics_methods.clear()
            HistoryBuffer._statistics_methods.update(statistics)
    if changed:
        raise UnsafeCheckpointError(filename, [_FOREIGN_STATISTICS])
    _check_history_buffers(checkpoint, filename)
    return checkpoint


def _torch_reason(error: Exception) -> str:
    """torch's refusal without its boilerplate (the scan passed it)."""
    text = str(error)
    marker = 'WeightsUnpickler error:'
    if marker in text:
        text = text.split(marker, 1)[1]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else repr(error)


def load_from_local(filename: str, map_location: MapLocation = None) -> Any:
    """mmengine's loader for local paths: :func:`safe_load_checkpoint`.

    Registered for the ``''`` prefix of ``CheckpointLoader``; the name keeps
    mmengine's log line "Loads checkpoint by local backend".

    Args:
        filename (str): Path of the checkpoint; ``~`` is expanded.
        map_location (str | Callable | torch.device, optional): As in
            :func:`torch.load`. Defaults to None.

    Returns:
        Any: The unpickled checkpoint, usually a dict.

    Raises:
        FileNotFoundError: If ``filename`` is not a file.
        CheckpointRefusedError: See :func:`safe_load_checkpoint`.
    """
    return safe_load_checkpoint(filename, map_location)


def register_checkpoint_safe_globals() -> None:
    """Allow-list mmengine's checkpoint globals and take over its loaders.

    Idempotent. Called when :mod:`mmfer4d` is imported, so our tools and
    mmpretrain's/mmengine's tools (through ``custom_imports``) load
    checkpoints from every source with :func:`safe_load_checkpoint`; plain
    ``torch.load`` in the same process gets the same narrow stand-ins.
    """
    # Imported here: the scheme loaders are built on this module.
    from .checkpoint_schemes import register_checkpoint_schemes
    _check_registration()
    register_checkpoint_schemes()
