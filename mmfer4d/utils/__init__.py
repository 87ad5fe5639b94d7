# Copyright (c) mmfer4d contributors. All rights reserved.
from .checkpoint import (UnsafeCheckpointError, load_from_local,
                         mmengine_checkpoint_safe_globals,
                         register_checkpoint_safe_globals)

__all__ = [
    'UnsafeCheckpointError', 'load_from_local',
    'mmengine_checkpoint_safe_globals', 'register_checkpoint_safe_globals'
]
