# Copyright (c) mmfer4d contributors. All rights reserved.
"""The ``make demo`` runs: registry, configs, runner, table and files.

``tools/demo.py`` only parses its flags into :class:`DemoOptions` and calls
:func:`run_demo`. How to add a target: see :mod:`.registry`.
"""
from .outputs import RESULTS_FILE, collect_records, save_results
from .registry import (RUNS, TARGETS, RunSpec, config_path, register_target,
                       runs_of, target_names)
from .report import (SYNTHETIC_NOTE, format_confusion, format_leaderboard,
                     format_run, leaderboard_rows, results_for_leaderboard)
from .run_config import (CLASSES, apply_size_options, build_run_cfg,
                         iter_pipelines, protocol_of)
from .runner import DemoOptions, run_demo, run_one

# The targets: one import per module (registration order = table order).
from . import synthetic_fer  # noqa: E402,F401,I001  isort:skip

__all__ = [
    'RESULTS_FILE', 'collect_records', 'save_results', 'RUNS', 'TARGETS',
    'RunSpec', 'config_path', 'register_target', 'runs_of', 'target_names',
    'SYNTHETIC_NOTE', 'format_confusion', 'format_leaderboard', 'format_run',
    'leaderboard_rows', 'results_for_leaderboard', 'CLASSES',
    'apply_size_options', 'build_run_cfg', 'iter_pipelines', 'protocol_of',
    'DemoOptions', 'run_demo', 'run_one'
]
