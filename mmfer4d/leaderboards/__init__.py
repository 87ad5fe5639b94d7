# Copyright (c) mmfer4d contributors. All rights reserved.
"""Published results per benchmark (YAML files beside this module)."""
from .leaderboard import (PROTOCOL_KEYS, ProtocolMismatchError,
                          compare_protocols, format_markdown, list_benchmarks,
                          load_leaderboard, load_results, rank_results)

__all__ = [
    'PROTOCOL_KEYS', 'ProtocolMismatchError', 'compare_protocols',
    'format_markdown', 'list_benchmarks', 'load_leaderboard', 'load_results',
    'rank_results'
]
