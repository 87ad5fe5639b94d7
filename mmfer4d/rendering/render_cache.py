# Copyright (c) mmfer4d contributors. All rights reserved.
"""An on-disk cache of rendered uint8 views, with a size limit (LRU)."""
import hashlib
import json
import os
import os.path as osp
import tempfile
from typing import Any, List, Optional

import numpy as np


def file_identity(path: str) -> Optional[tuple]:
    """``(absolute path, size in bytes, mtime in ns)``, or None if absent."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (osp.abspath(path), int(st.st_size), int(st.st_mtime_ns))


class RenderCache:
    """Rendered views stored as ``.npy`` files, evicted least recently used.

    The key is anything JSON-serialisable (the caller puts the file identity
    and every render parameter in it); its SHA-1 names the file. Writes are
    atomic (temporary file + rename), so several DataLoader workers can share
    one folder. A hit refreshes the file's mtime, which is the LRU clock.
    The folder size is tracked per process and re-scanned before evicting,
    so the limit holds approximately when several processes write.

    Args:
        dir (str): Cache folder, created if missing.
        max_mb (float): Size limit in MB (10**6 bytes). When a write takes
            the folder over it, the oldest files are deleted down to 90% of
            the limit. Defaults to 1024.

    Raises:
        ValueError: If ``max_mb`` is not positive.
    """

    def __init__(self, dir: str, max_mb: float = 1024.0):
        if not max_mb > 0:
            raise ValueError(f'max_mb must be > 0, got {max_mb}')
        self.dir = str(dir)
        self.max_bytes = int(max_mb * 1e6)
        os.makedirs(self.dir, exist_ok=True)
        self._size = None  # bytes, lazily scanned
        self.hits = 0
        self.misses = 0

    @staticmethod
    def make_key(key: Any) -> str:
        """The file stem of a key: SHA-1 of its canonical JSON."""
        text = json.dumps(key, sort_keys=True, default=str)
        return hashlib.sha1(text.encode()).hexdigest()

    def _path(self, key: Any) -> str:
        return osp.join(self.dir, self.make_key(key) + '.npy')

    def get(self, key: Any) -> Optional[np.ndarray]:
        """The stored array for ``key``, or None."""
        path = self._path(key)
        try:
            arr = np.load(path, allow_pickle=False)
            os.utime(path)
        except (OSError, ValueError):
            self.misses += 1
            return None
        self.hits += 1
        return arr

    def put(self, key: Any, array: np.ndarray) -> None:
        """Store ``array`` under ``key``, then evict if over the limit."""
        path = self._path(key)
        fd, tmp = tempfile.mkstemp(dir=self.dir, suffix='.tmp')
        try:
            with os.fdopen(fd, 'wb') as f:
                np.save(f, np.ascontiguousarray(array), allow_pickle=False)
            os.replace(tmp, path)
        except OSError:
            if osp.exists(tmp):
                os.remove(tmp)
            return
        if self._size is None:
            self._size = self._scan()[1]
        else:
            self._size += osp.getsize(path)
        if self._size > self.max_bytes:
            self._evict()

    def _scan(self):
        entries, total = [], 0
        for entry in os.scandir(self.dir):
            if entry.name.endswith('.npy'):
                try:
                    st = entry.stat()
                except OSError:
                    continue
                entries.append((st.st_mtime_ns, st.st_size, entry.path))
                total += st.st_size
        return entries, total

    def _evict(self) -> None:
        entries, total = self._scan()
        target = int(0.9 * self.max_bytes)
        for _, size, path in sorted(entries):
            if total <= target:
                break
            try:
                os.remove(path)
            except OSError:
                continue
            total -= size
        self._size = total

    def size_bytes(self) -> int:
        """Current total size of the cached files in bytes."""
        return self._scan()[1]

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(dir={self.dir!r}, '
                f'max_mb={self.max_bytes / 1e6:g})')


def split_views(array: np.ndarray) -> List[np.ndarray]:
    """``(V, H, W, C)`` -> list of V ``(H, W, C)`` views (no copy)."""
    return [array[k] for k in range(array.shape[0])]
