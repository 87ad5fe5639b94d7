# Copyright (c) mmfer4d contributors. All rights reserved.
"""Published results per benchmark (YAML files beside this module)."""
from .chart import leaderboard_figure, plot_leaderboard, wrap_label
from .leaderboard import (METRICS, PROTOCOL_KEYS, list_benchmarks,
                          load_leaderboard, load_results, normalize_protocol)
from .ranking import (BenchmarkMismatchError, ProtocolMismatchError,
                      compare_protocols, format_markdown, rank_results)

__all__ = [
    'METRICS', 'PROTOCOL_KEYS', 'BenchmarkMismatchError',
    'ProtocolMismatchError', 'compare_protocols', 'format_markdown',
    'leaderboard_figure', 'list_benchmarks', 'load_leaderboard',
    'load_results', 'normalize_protocol', 'plot_leaderboard', 'rank_results',
    'wrap_label'
]
