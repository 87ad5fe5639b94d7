# Copyright (c) mmfer4d contributors. All rights reserved.
from . import (algorithms, backbones, data_preprocessors, fusion, heads,
               losses, necks, text, utils)
from .algorithms import *  # noqa: F401,F403
from .backbones import *  # noqa: F401,F403
from .data_preprocessors import *  # noqa: F401,F403
from .fusion import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .text import *  # noqa: F401,F403
from .utils import *  # noqa: F401,F403
from .dfn import *  # noqa: F401,F403,E402  (DFN, issue 15)

__all__ = [
    name for module in (algorithms, backbones, data_preprocessors, fusion,
                        heads, losses, necks, text, utils)
    for name in module.__all__
]
