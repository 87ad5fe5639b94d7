# Copyright (c) mmfer4d contributors. All rights reserved.
"""What a protocol run prints: one Runner banner, fold lines with an ETA.

mmengine's ``Runner`` logs, while it is built, the system and runtime
environment, the whole config and the list of hooks: hundreds of lines that
are the same for every fold of a cross-validation. :func:`build_runner`
builds the Runner of every fold after the first with those three records
kept out of the console; they still go to the fold's own log file
(``FOLD_DIR/TIMESTAMP/TIMESTAMP.log``), and every other record (warnings
above all) reaches the console as usual.

:class:`KFoldProgress` prints ``fold i of k, seed s`` lines with the
overall ETA of the run.
"""
import re
import sys
import time
from typing import Callable, Optional

__all__ = [
    'BUILD_BANNER_RECORDS', 'CONFIG_RECORDS', 'build_runner', 'KFoldProgress',
    'format_duration'
]

#: Regular expressions of the messages the Runner logs at build that a
#: quiet build keeps out of the console (``Runner.__init__`` and
#: ``Runner._log_env`` of mmengine 0.10).
BUILD_BANNER_RECORDS = (
    re.compile(r'\n-{20,}\nSystem environment:'),
    re.compile(r' - Config:\n'),
    re.compile(r' - Hooks will be executed in the following order:'),
)
#: The config and hook listing only (``tools/train.py`` keeps them out of
#: the console of a single run; the environment stays).
CONFIG_RECORDS = BUILD_BANNER_RECORDS[1:]
# The console formatter of MMLogger starts each record with the date.
_RECORD_START = re.compile(r'^(\x1b\[[0-9;]*m)?\d\d/\d\d \d\d:\d\d:\d\d - ')


class _BannerFilterStream:
    """A console stream that drops some of the Runner's build records.

    ``logging.StreamHandler.emit`` writes a whole formatted record in one
    ``write`` call, so a write that starts like a record and matches one of
    :data:`BUILD_BANNER_RECORDS` is one banner record; every other write
    goes through unchanged.
    """

    def __init__(self, stream, records=BUILD_BANNER_RECORDS):
        self.stream = stream
        self.records = tuple(records)
        self.dropped = 0

    def write(self, text: str) -> int:
        if _RECORD_START.match(text) and any(
                p.search(text) for p in self.records):
            self.dropped += 1
            return len(text)
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name):
        return getattr(self.stream, name)


def build_runner(cfg, quiet: bool = False, records=BUILD_BANNER_RECORDS):
    """Build the Runner of a config as ``tools/train.py`` does.

    ``RUNNERS.build`` when the config names a ``runner_type``, else
    ``Runner.from_cfg``.

    Args:
        cfg (Config): The config (``work_dir`` and ``experiment_name`` set).
        quiet (bool): Keep the environment, config and hook listing that
            the Runner logs at build out of the console (they still go to
            the log file). Defaults to False.
        records (Sequence[re.Pattern]): The records ``quiet`` keeps out
            of the console. Defaults to :data:`BUILD_BANNER_RECORDS` (all
            three); ``CONFIG_RECORDS`` keeps the environment.

    Returns:
        Runner: The built Runner.
    """
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    def build():
        return RUNNERS.build(cfg) if 'runner_type' in cfg else \
            Runner.from_cfg(cfg)

    if not quiet:
        return build()
    console = sys.stdout
    quiet_stream = _BannerFilterStream(console, records)
    sys.stdout = quiet_stream
    try:
        runner = build()
    finally:
        sys.stdout = console
    # The Runner's console handler was created on our stream: give it back
    # the real console for everything it logs from now on.
    for handler in runner.logger.handlers:
        if getattr(handler, 'stream', None) is quiet_stream:
            handler.setStream(console)
    return runner


def format_duration(seconds: Optional[float]) -> str:
    """``h:mm:ss`` (or ``unknown`` for None)."""
    if seconds is None:
        return 'unknown'
    seconds = int(round(max(seconds, 0.0)))
    return f'{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}'


class KFoldProgress:
    """Progress of a protocol run over seeds x folds (x stages).

    The ETA is the mean wall time of the fold runs finished in this
    process times the fold runs left; runs found done on disk count
    neither way.

    Args:
        num_folds (int): Folds per seed (``k``; the subjects for LOSO).
        todo (int): Fold runs this invocation will train.
        log (Callable[[str], None]): Where lines go. Defaults to ``print``.
    """

    def __init__(self, num_folds: int, todo: int,
                 log: Callable[[str], None] = print):
        self.num_folds = num_folds
        self.todo = todo
        self.log = log
        self.finished = 0
        self.seconds = 0.0
        self._start = None

    def eta(self) -> Optional[float]:
        """Seconds left, or None before the first fold run has finished."""
        if not self.finished:
            return None
        return self.seconds / self.finished * (self.todo - self.finished)

    def header(self, fold: int, seed: int) -> str:
        """``fold i of k, seed s`` (``i`` counts from 1; the folder is
        ``fold{i-1}``)."""
        return f'fold {fold + 1} of {self.num_folds}, seed {seed}'

    def skipped(self, fold: int, seed: int, what: str = 'done') -> None:
        """A fold found finished on disk."""
        self.log(f'[kfold] {self.header(fold, seed)}: {what}, skipped')

    def start(self, fold: int, seed: int, action: str) -> None:
        """A fold run begins (``action``: e.g. ``training in DIR``)."""
        self._start = time.monotonic()
        self.log(f'[kfold] {self.header(fold, seed)}: {action} '
                 f'(run {self.finished + 1} of {self.todo}; ETA of the '
                 f'whole run {format_duration(self.eta())})')

    def done(self) -> None:
        """The fold run begun last has finished."""
        if self._start is not None:
            self.seconds += time.monotonic() - self._start
            self.finished += 1
            self._start = None
