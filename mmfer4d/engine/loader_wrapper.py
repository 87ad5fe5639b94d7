# Copyright (c) mmfer4d contributors. All rights reserved.
"""Wrappers of a loop's data loader, and finding what they wrap."""
from typing import Optional, Type


class LoaderWrapper:
    """A data loader (or iterator) wrapped by a hook or a loop.

    The wrapped loader is ``.loader``; every other attribute, and
    ``len()``, are the wrapped loader's (``dataset``, ``sampler``,
    ``batch_size``...), so mmengine's hooks and loops read them through
    any number of wrappers.

    Args:
        loader: The loader (or iterator) to wrap.
    """

    def __init__(self, loader):
        self.loader = loader

    def __getattr__(self, name):
        if name == 'loader':  # not set yet: no endless recursion
            raise AttributeError(name)
        return getattr(self.loader, name)

    def __len__(self) -> int:
        return len(self.loader)


def unwrap_loader(loader, cls: Type, max_depth: int = 8) -> Optional[object]:
    """The first object of type ``cls`` in the chain ``loader``,
    ``loader.loader``, ... (at most ``max_depth`` steps), or None."""
    for _ in range(max_depth + 1):
        if isinstance(loader, cls):
            return loader
        loader = vars(loader).get('loader') if hasattr(loader,
                                                       '__dict__') else None
        if loader is None:
            return None
    return None
