# Copyright (c) mmfer4d contributors. All rights reserved.
import os
import time

import numpy as np
import pytest

from mmfer4d.rendering import RenderCache
from mmfer4d.rendering.render_cache import file_identity


def test_put_get_and_lru_eviction(tmp_path):
    cache = RenderCache(str(tmp_path / 'c'), max_mb=0.05)  # 50 kB
    arr = np.arange(20000, dtype=np.uint8).reshape(2, 100, 100)  # 20 kB
    assert cache.get({'k': 0}) is None
    cache.put({'k': 0}, arr)
    np.testing.assert_array_equal(cache.get({'k': 0}), arr)
    cache.put({'k': 1}, arr + 1)
    time.sleep(0.01)
    cache.get({'k': 0})  # now k=0 is the most recently used
    cache.put({'k': 2}, arr + 2)  # over 50 kB: evicts the oldest, k=1
    assert cache.get({'k': 1}) is None
    assert cache.get({'k': 0}) is not None
    assert cache.get({'k': 2}) is not None
    assert cache.size_bytes() <= 50000
    assert cache.hits == 4 and cache.misses == 2


def test_key_is_canonical_and_file_identity(tmp_path):
    assert RenderCache.make_key(dict(a=1, b=[2, 3])) == \
        RenderCache.make_key(dict(b=[2, 3], a=1))
    f = tmp_path / 'x.wrl'
    f.write_text('abc')
    ident = file_identity(str(f))
    assert ident[0] == str(f) and ident[1] == 3
    os.utime(f, ns=(0, 10**9))
    assert file_identity(str(f)) != ident
    assert file_identity(str(tmp_path / 'missing')) is None
    with pytest.raises(ValueError, match='max_mb'):
        RenderCache(str(tmp_path), max_mb=0)
