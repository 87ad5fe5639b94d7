# Copyright (c) mmfer4d contributors. All rights reserved.
"""The bar chart of a ranked leaderboard, with whole method names.

Method names are wrapped onto several lines (never cut), and the figure is
sized from the rendered labels so that every label, bar value, the legend
and the title lie inside the saved image. Drawn on a
:class:`matplotlib.figure.Figure` with the Agg canvas (no ``pyplot``), so it
works headless and leaves the caller's backend alone.
"""
import math
import os
import os.path as osp
import textwrap
from typing import List

from .ranking import METRIC_NAMES

__all__ = ['wrap_label', 'leaderboard_figure', 'plot_leaderboard']

DPI = 100
BAR_WIDTH_IN = 6.0  # inches of the value axis
PAD_IN = 0.25


def wrap_label(name: str, width: int = 32) -> str:
    """``name`` on lines of at most ``width`` characters where it has
    spaces (a longer word stays whole)."""
    lines = textwrap.wrap(name, width, break_long_words=False,
                          break_on_hyphens=False)
    return '\n'.join(lines) or name


def _bars(table: dict) -> List[dict]:
    """Ours, verified and unverified rows, best first."""
    bars = []
    for row in table['rows']:
        kind = 'ours' if row['ours'] else 'verified'
        name = f'{row["method"]} (ours)' if row['ours'] else row['method']
        bars.append(dict(row, label=name, kind=kind))
    for row in table.get('unverified', []):
        bars.append(dict(row, label=f'{row["method"]} (unverified)',
                         kind='unverified'))
    return sorted(bars, key=lambda b: -b['value'])


_STYLE = dict(
    ours=dict(facecolor='tab:orange', label='ours'),
    verified=dict(facecolor='tab:blue',
                  label='published, protocol verified'),
    unverified=dict(facecolor='lightgrey', hatch='//', edgecolor='grey',
                    label='published, protocol fields unstated'))


def leaderboard_figure(table: dict):
    """Draw the chart of a table from
    :func:`~mmfer4d.leaderboards.rank_results`.

    Returns:
        matplotlib.figure.Figure: The laid-out figure (Agg canvas).
    """
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    bars = _bars(table)
    labels = [wrap_label(b['label']) for b in bars]
    lines = sum(label.count('\n') + 1 for label in labels)
    title = textwrap.fill(table['title'], 90)
    top_in = 0.3 + 0.22 * (title.count('\n') + 1) + 0.35
    height = max(2.5, 0.2 * lines + 0.25 * len(bars) + top_in + 0.7)
    fig = Figure(figsize=(BAR_WIDTH_IN + 3.0, height), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    pos = np.arange(len(bars))[::-1]
    values = [b['value'] for b in bars]
    for kind, style in _STYLE.items():
        idx = [i for i, b in enumerate(bars) if b['kind'] == kind]
        if not idx:
            continue
        errors = [bars[i].get('std') for i in idx]
        xerr = [0.0 if e is None else float(e) for e in errors] \
            if any(e is not None for e in errors) else None
        ax.barh(pos[idx], [values[i] for i in idx], xerr=xerr,
                **{k: v for k, v in style.items() if k != 'label'})
    ax.set_yticks(pos, labels, fontsize=9)
    ends = [v + float(b.get('std') or 0.0) for v, b in zip(values, bars)]
    for p, v, end in zip(pos, values, ends):
        ax.text(end, p, f' {v:.2f}', va='center', fontsize=8)
    finite = [v for v in ends if np.isfinite(v)]
    ax.set_xlim(0, (max(finite) if finite else 1.0) * 1.15 + 1e-6)
    metric = table['metric']
    ax.set_xlabel(f'{METRIC_NAMES.get(metric, metric)} (%)')
    handles = [
        Patch(**{k: v for k, v in style.items()})
        for kind, style in _STYLE.items() if any(b['kind'] == kind
                                                 for b in bars)
    ]
    ax.legend(handles=handles, loc='lower left', bbox_to_anchor=(0, 1.0),
              ncol=len(handles), frameon=False, fontsize=8)
    fig.suptitle(title, fontsize=10, y=1 - 0.15 / height)

    # Size the left margin from the rendered labels.
    renderer = fig.canvas.get_renderer()
    label_in = max(
        (t.get_window_extent(renderer).width
         for t in ax.get_yticklabels()), default=0.0) / DPI
    legend_in = ax.get_legend().get_window_extent(renderer).width / DPI
    width = max(label_in + PAD_IN + BAR_WIDTH_IN + 0.6,
                label_in + PAD_IN + legend_in + 0.3)
    width = math.ceil(width * DPI) / DPI  # whole pixels, as saved
    fig.set_figwidth(width)
    fig.subplots_adjust(
        left=(label_in + PAD_IN) / width,
        right=1 - 0.6 / width,
        top=1 - top_in / height,
        bottom=0.6 / height)
    return fig


def plot_leaderboard(table: dict, out_file: str) -> str:
    """Save :func:`leaderboard_figure` as a PNG (the figure's own size:
    everything was laid out to fit it). Returns ``out_file``."""
    fig = leaderboard_figure(table)
    if osp.dirname(out_file):
        os.makedirs(osp.dirname(out_file), exist_ok=True)
    fig.savefig(out_file, dpi=DPI)
    return out_file
