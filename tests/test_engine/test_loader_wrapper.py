# Copyright (c) mmfer4d contributors. All rights reserved.
"""LoaderWrapper delegates to the wrapped loader; unwrap_loader finds it."""
from torch.utils.data import DataLoader

from mmfer4d.engine.loader_wrapper import LoaderWrapper, unwrap_loader


class Outer(LoaderWrapper):
    pass


def test_attributes_and_len_are_the_wrapped_loaders():
    loader = DataLoader(list(range(10)), batch_size=4)
    wrapped = Outer(LoaderWrapper(loader))
    assert len(wrapped) == 3
    assert wrapped.batch_size == 4 and wrapped.dataset is loader.dataset
    assert wrapped.loader.loader is loader


def test_unwrap_finds_the_type_through_wrappers_or_gives_none():
    loader = DataLoader(list(range(10)), batch_size=4)
    inner = LoaderWrapper(loader)
    wrapped = Outer(inner)
    assert unwrap_loader(wrapped, DataLoader) is loader
    assert unwrap_loader(wrapped, Outer) is wrapped
    assert unwrap_loader(loader, Outer) is None  # a DataLoader has no .loader
    assert unwrap_loader(object(), DataLoader) is None
    deep = loader
    for _ in range(10):
        deep = LoaderWrapper(deep)
    assert unwrap_loader(deep, DataLoader) is None  # deeper than 8
    assert unwrap_loader(deep, DataLoader, max_depth=10) is loader
