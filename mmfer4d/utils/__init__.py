# Copyright (c) mmfer4d contributors. All rights reserved.
from .checkpoint import (CheckpointRefusedError, UnsafeCheckpointError,
                         UnsupportedCheckpointError, load_from_local,
                         mmengine_checkpoint_safe_globals,
                         register_checkpoint_safe_globals,
                         safe_load_checkpoint)
from .checkpoint_scan import scan_checkpoint
from .checkpoint_schemes import (download_checkpoint, load_from_http,
                                 register_checkpoint_schemes, unsafe_schemes)
from .dist_env import init_cpu_distributed

__all__ = [
    'CheckpointRefusedError', 'UnsafeCheckpointError',
    'UnsupportedCheckpointError', 'download_checkpoint',
    'init_cpu_distributed', 'load_from_http', 'load_from_local',
    'mmengine_checkpoint_safe_globals',
    'register_checkpoint_safe_globals', 'register_checkpoint_schemes',
    'safe_load_checkpoint', 'scan_checkpoint', 'unsafe_schemes'
]
