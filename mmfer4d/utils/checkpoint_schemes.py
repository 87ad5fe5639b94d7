# Copyright (c) mmfer4d contributors. All rights reserved.
"""mmengine's checkpoint schemes, re-registered on the safe loader.

mmengine 0.10's ``CheckpointLoader`` maps path prefixes to loaders (see
``mmengine/runner/checkpoint.py``):

============================================  ==============================
prefix                                        mmengine opens the file with
============================================  ==============================
``''`` (local path)                           ``torch.load``
``http://``, ``https://``                     torch hub ``load_url``
                                              (``weights_only=False``)
``torchvision://``, ``modelzoo://``           URL table, then as ``http``
``open-mmlab://``, ``openmmlab://``           URL table (or a file under
                                              ``$MMENGINE_HOME``), then as
                                              ``http`` / ``torch.load``
``mmcls://``                                  URL table, then as ``http``
``pavi://``                                   a download, ``torch.load``
``s3://``, ``petrel://`` (with an optional    the file backend's bytes,
``name:`` before)                             ``torch.load``
============================================  ==============================

The ``http`` loader is called by name from the others, so every prefix is
re-registered here (``register_scheme(..., force=True)``), each reusing
mmengine's URL tables and ending in
:func:`~mmfer4d.utils.checkpoint.safe_load_checkpoint`. URLs download with
torch hub's ``download_url_to_file`` into torch hub's cache
(``$TORCH_HOME/hub/checkpoints/<file name>``, where mmengine put them), and
a cached file is loaded as it is, through the same scan and allow-list.
Any other prefix that mmengine itself registers gets a loader that refuses.
"""
import io
import logging
import os
import os.path as osp
import zipfile
from tempfile import TemporaryDirectory
from typing import Any, Callable, Dict, List, Optional
from urllib.parse import urlparse

import torch
from mmengine.dist import get_dist_info
from mmengine.fileio import get_file_backend
from mmengine.logging import print_log
from mmengine.runner.checkpoint import (CheckpointLoader, _get_mmengine_home,
                                        _process_mmcls_checkpoint,
                                        get_deprecated_model_names,
                                        get_external_models, get_mmcls_models,
                                        get_torchvision_models)

from .checkpoint import MapLocation, load_from_local, safe_load_checkpoint
from .checkpoint_scan import UnsupportedCheckpointError

__all__ = [
    'download_checkpoint', 'load_from_http', 'load_from_torchvision',
    'load_from_openmmlab', 'load_from_mmcls', 'load_from_pavi',
    'load_from_ceph', 'register_checkpoint_schemes', 'unsafe_schemes'
]


def download_checkpoint(url: str,
                        model_dir: Optional[str] = None,
                        progress: bool = True,
                        file_name: Optional[str] = None) -> str:
    """The torch hub cache file of ``url``, downloaded if missing.

    Args:
        url (str): An ``http(s)://`` URL.
        model_dir (str, optional): The cache folder. Defaults to
            ``torch.hub.get_dir()/checkpoints``, as torch hub and mmengine.
        progress (bool): Show a progress bar. Defaults to True.
        file_name (str, optional): The cache file name. Defaults to the last
            part of the URL's path.

    Returns:
        str: The cached file (not yet opened).
    """
    if model_dir is None:
        model_dir = osp.join(torch.hub.get_dir(), 'checkpoints')
    os.makedirs(model_dir, exist_ok=True)
    cached = osp.join(model_dir, file_name
                      or osp.basename(urlparse(url).path))
    if not osp.exists(cached):
        print_log(f'Downloading: "{url}" to {cached}', logger='current')
        # Writes a temporary file and moves it: no half file in the cache.
        torch.hub.download_url_to_file(url, cached, None, progress=progress)
    return cached


def _load_cached(url: str, cached: str, map_location: MapLocation) -> Any:
    """Load a cache file; a one-member zip (pre-1.6 hub style) unpacked."""
    name = f'{url} (cached as {cached})'
    if zipfile.is_zipfile(cached):
        with zipfile.ZipFile(cached) as archive:
            members = archive.infolist()
            if len(members) == 1 and not members[0].is_dir():
                extracted = archive.extract(members[0], osp.dirname(cached))
                return safe_load_checkpoint(
                    extracted, map_location, filename=f'{name} -> '
                    f'{extracted}')
    return safe_load_checkpoint(cached, map_location, filename=name)


def load_from_http(filename: str,
                   map_location: MapLocation = None,
                   model_dir: Optional[str] = None,
                   progress: bool = os.isatty(0)) -> Any:
    """Load an ``http(s)://`` checkpoint through the torch hub cache.

    In a distributed run local rank 0 downloads first, the others wait.

    Args:
        filename (str): The URL.
        map_location (str | Callable | torch.device, optional): As in
            :func:`torch.load`. Defaults to None.
        model_dir (str, optional): The cache folder; see
            :func:`download_checkpoint`. Defaults to None.
        progress (bool): Show a progress bar. Defaults to whether stdin is
            a terminal, as mmengine.

    Returns:
        Any: The checkpoint.

    Raises:
        CheckpointRefusedError: If the (cached) file is refused; the message
            names the URL and the cache file.
    """
    rank, world_size = get_dist_info()
    if rank == 0:
        cached = download_checkpoint(filename, model_dir, progress)
    if world_size > 1:
        torch.distributed.barrier()
        if rank > 0:
            cached = download_checkpoint(filename, model_dir, progress)
    return _load_cached(filename, cached, map_location)


def load_from_torchvision(filename: str,
                          map_location: MapLocation = None) -> Any:
    """``torchvision://NAME`` (or the deprecated ``modelzoo://NAME``)."""
    model_urls = get_torchvision_models()
    if filename.startswith('modelzoo://'):
        print_log(
            'The URL scheme of "modelzoo://" is deprecated, please use '
            '"torchvision://" instead',
            logger='current',
            level=logging.WARNING)
        model_name = filename[len('modelzoo://'):]
    else:
        model_name = filename[len('torchvision://'):]
    return load_from_http(model_urls[model_name], map_location=map_location)


def load_from_openmmlab(filename: str,
                        map_location: MapLocation = None) -> Any:
    """``open-mmlab://NAME`` / ``openmmlab://NAME``: mmengine's URL table,
    with ``$MMENGINE_HOME/open_mmlab.json`` entries and deprecated names."""
    prefix = 'open-mmlab://' if filename.startswith('open-mmlab://') \
        else 'openmmlab://'
    model_name = filename[len(prefix):]
    deprecated = get_deprecated_model_names()
    if model_name in deprecated:
        print_log(
            f'{prefix}{model_name} is deprecated in favor of '
            f'{prefix}{deprecated[model_name]}',
            logger='current',
            level=logging.WARNING)
        model_name = deprecated[model_name]
    model_url = get_external_models()[model_name]
    if model_url.startswith(('http://', 'https://')):
        return load_from_http(model_url, map_location=map_location)
    return load_from_local(
        osp.join(_get_mmengine_home(), model_url), map_location)


def load_from_mmcls(filename: str, map_location: MapLocation = None) -> Any:
    """``mmcls://NAME``: mmengine's mmcls URL table; the backbone's keys."""
    model_url = get_mmcls_models()[filename[len('mmcls://'):]]
    return _process_mmcls_checkpoint(
        load_from_http(model_url, map_location=map_location))


def load_from_pavi(filename: str, map_location: MapLocation = None) -> Any:
    """``pavi://PATH``: downloaded from pavi's model cloud into a temporary
    folder.

    Raises:
        ImportError: If ``pavi`` is not installed.
    """
    try:
        from pavi import modelcloud
    except ImportError:
        raise ImportError(
            'Please install pavi to load checkpoint from modelcloud.')
    model = modelcloud.get(filename[len('pavi://'):])
    with TemporaryDirectory() as tmp_dir:
        downloaded = osp.join(tmp_dir, model.name)
        model.download(downloaded)
        return safe_load_checkpoint(
            downloaded, map_location, filename=f'{filename} ({model.name})')


def load_from_ceph(filename: str,
                   map_location: MapLocation = None,
                   backend: str = 'petrel') -> Any:
    """``s3://`` / ``petrel://`` (optionally ``name:s3://``): the bytes from
    mmengine's file backend."""
    file_backend = get_file_backend(
        filename, backend_args={'backend': backend})
    with io.BytesIO(file_backend.get(filename)) as buffer:
        return safe_load_checkpoint(buffer, map_location, filename=filename)


def load_from_unsupported_scheme(filename: str,
                                 map_location: MapLocation = None) -> Any:
    """For a prefix mmengine registers that mmfer4d does not know.

    Raises:
        UnsupportedCheckpointError: Always.
    """
    raise UnsupportedCheckpointError(filename, [
        'mmfer4d has no allow-listed loader for this path prefix; download '
        'the file and pass its local path'
    ])


_LOADERS: Dict[str, Callable] = {
    '': load_from_local,
    'http://': load_from_http,
    'https://': load_from_http,
    'pavi://': load_from_pavi,
    r'(\S+\:)?s3://': load_from_ceph,
    r'(\S+\:)?petrel://': load_from_ceph,
    'modelzoo://': load_from_torchvision,
    'torchvision://': load_from_torchvision,
    'open-mmlab://': load_from_openmmlab,
    'openmmlab://': load_from_openmmlab,
    'mmcls://': load_from_mmcls,
}


def register_checkpoint_schemes() -> None:
    """Point every mmengine prefix at mmfer4d's loaders. Idempotent.

    Prefixes that mmengine registers and this module does not know get
    :func:`load_from_unsupported_scheme`; prefixes that other packages
    registered stay theirs (see :func:`unsafe_schemes`).
    """
    for prefix, loader in _LOADERS.items():
        if CheckpointLoader._schemes.get(prefix) is not loader:
            CheckpointLoader.register_scheme(prefix, loader, force=True)
    for prefix, loader in list(CheckpointLoader._schemes.items()):
        if getattr(loader, '__module__', '') == 'mmengine.runner.checkpoint':
            CheckpointLoader.register_scheme(
                prefix, load_from_unsupported_scheme, force=True)


def unsafe_schemes() -> List[str]:
    """Prefixes whose ``CheckpointLoader`` loader is not mmfer4d's."""
    return [
        prefix for prefix, loader in CheckpointLoader._schemes.items()
        if not getattr(loader, '__module__', '').startswith('mmfer4d.')
    ]
