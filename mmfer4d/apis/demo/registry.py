# Copyright (c) mmfer4d contributors. All rights reserved.
"""The demo's runs and targets, by name.

A *run* (:class:`RunSpec`) is one config trained and tested on the held-out
subjects, reported as one row of the demo table. A *target* is what
``tools/demo.py --what NAME`` (and ``make demo-NAME``) runs: a tuple of run
names. Runs are listed in the table in the order they were registered.

Adding a demo target
--------------------
1. Write a module ``mmfer4d/apis/demo/<target>.py`` that calls
   :func:`register_target` with its :class:`RunSpec` list (see
   :mod:`mmfer4d.apis.demo.synthetic_fer` for the SMILE-VLM runs), and
   import it in ``mmfer4d/apis/demo/__init__.py`` (one line).
2. Add a Makefile target: ``$(PY) tools/demo.py --what <target> --work-dir
   $(DEMO_DIR) $(DEMO_ARGS)``.

``tools/demo.py --what`` offers every registered target (and ``all``); the
runner, the size flags, ``--reuse`` and the table need no change. A run
whose metrics are not the FER accuracies can add text to the table's
*Also* column through ``RunSpec.also`` (callables ``record -> str``).
"""
import os.path as osp
from dataclasses import dataclass, field
from typing import Callable, Dict, Optional, Sequence, Tuple

_PACKAGE = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: Where ``configs/`` is: the repository root of a checkout (or editable
#: install), else the installed package's ``.mim`` folder (wheel install).
ROOT = osp.dirname(_PACKAGE) if osp.isdir(
    osp.join(osp.dirname(_PACKAGE), 'configs')) else osp.join(
        _PACKAGE, '.mim')


def config_path(name: str, method: str = 'smile_vlm') -> str:
    """``configs/<method>/<name>.py`` below :data:`ROOT`."""
    return osp.join(ROOT, 'configs', method, name + '.py')


@dataclass(frozen=True)
class RunSpec:
    """One demo run: a config and how its row reads.

    Args:
        name (str): Run name, also its directory in the work dir.
        config (str): Path of the CPU-sized config.
        method (str): *Method* column (``'SMILE-VLM'``).
        supervision (str): *Supervision* column.
        evaluation (str): *Evaluation* column (``'zero-shot'``).
        full (str, optional): The real-size config of ``--full``. Defaults
            to None (the run is skipped with ``--full``).
        probe_of (str, optional): A linear probe of that run's final
            checkpoint (same fold). Defaults to None.
        preview (bool): Render the test set once before training, with a
            progress bar, and draw ``browse_dataset.png`` (the first such
            run of an invocation). Defaults to False.
        pictures (bool): Draw ``confusion_matrix.png`` and ``tsne.png`` of
            this run. Defaults to False.
        ranked (bool): Rank the row among the published results of the
            ``synthetic`` leaderboard (``mmfer4d/leaderboards/``). Defaults
            to False.
        also (tuple[Callable[[dict], str]]): Extra text of the *Also*
            column, one callable per item, given the run's record; empty
            strings are left out. Defaults to ().
    """

    name: str
    config: str
    method: str
    supervision: str
    evaluation: str
    full: Optional[str] = None
    probe_of: Optional[str] = None
    preview: bool = False
    pictures: bool = False
    ranked: bool = False
    also: Tuple[Callable[[dict], str], ...] = field(default=())


#: Every registered run, in table order.
RUNS: Dict[str, RunSpec] = {}
#: ``--what`` name -> run names.
TARGETS: Dict[str, Tuple[str, ...]] = {}


def register_target(target: str, runs: Sequence[RunSpec]) -> None:
    """Register a ``--what`` target and its runs.

    Args:
        target (str): The ``--what`` name (not ``'all'``).
        runs (Sequence[RunSpec]): Its runs, in table order. A run may name
            a ``probe_of`` run registered before it or in the same list.

    Raises:
        ValueError: If the target is ``'all'`` or already registered, a
            run name is already taken, or ``probe_of`` names no run.
    """
    if target == 'all' or target in TARGETS:
        raise ValueError(f'demo target {target!r} is reserved or already '
                         'registered')
    names = [r.name for r in runs]
    for spec in runs:
        if spec.name in RUNS or names.count(spec.name) > 1:
            raise ValueError(f'demo run {spec.name!r} is already registered')
        if spec.probe_of and spec.probe_of not in RUNS and \
                spec.probe_of not in names:
            raise ValueError(f'demo run {spec.name!r}: probe_of names no '
                             f'run ({spec.probe_of!r})')
    for spec in runs:
        RUNS[spec.name] = spec
    TARGETS[target] = tuple(names)


def target_names() -> Tuple[str, ...]:
    """The ``--what`` choices: every target and ``'all'``."""
    return tuple(sorted(TARGETS)) + ('all', )


def runs_of(targets: Sequence[str]) -> Tuple[str, ...]:
    """The run names of ``targets`` in table order (``'all'``: every run).

    Raises:
        KeyError: If a target is not registered.
    """
    wanted = set()
    for target in targets:
        if target == 'all':
            wanted.update(RUNS)
        elif target not in TARGETS:
            raise KeyError(f'unknown demo target {target!r}; registered: '
                           f'{", ".join(target_names())}')
        else:
            wanted.update(TARGETS[target])
    return tuple(name for name in RUNS if name in wanted)
