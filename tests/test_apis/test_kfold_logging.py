# Copyright (c) mmfer4d contributors. All rights reserved.
"""The console of a protocol run: banner once, ETA lines."""
import logging
import time

from mmengine.logging import MMLogger

from mmfer4d.apis import KFoldProgress
from mmfer4d.apis.kfold_logging import _BannerFilterStream, format_duration


def test_filter_drops_only_the_build_banner(tmp_path, capsys):
    import sys
    stream = _BannerFilterStream(sys.stdout)
    logger = MMLogger(f'banner-test-{time.monotonic_ns()}',
                      log_file=str(tmp_path / 'run.log'))
    logger.handlers[0].setStream(stream)
    logger.info('\n' + '-' * 60 + '\nSystem environment:\n    Python: 3')
    logger.info('Config:\nmodel = dict(type="X")')
    logger.info('Hooks will be executed in the following order:\nbefore')
    logger.warning('Config: a warning that merely mentions the config')
    logger.info('Checkpoints will be saved to /x.')
    print('plain print output')
    for handler in logger.handlers:
        if isinstance(handler, logging.FileHandler):
            handler.close()
    out = capsys.readouterr().out
    assert stream.dropped == 3
    assert 'System environment' not in out and 'Hooks will' not in out
    assert 'a warning that merely mentions' in out
    assert 'Checkpoints will be saved' in out and 'plain print' in out
    # The log file keeps everything.
    log = (tmp_path / 'run.log').read_text()
    assert 'System environment' in log and 'model = dict' in log


def test_progress_lines_and_eta(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(time, 'monotonic', lambda: clock[0])
    lines = []
    progress = KFoldProgress(num_folds=10, todo=3, log=lines.append)
    progress.skipped(0, 7)
    progress.start(1, 7, 'training in d')
    clock[0] += 60.0
    progress.done()
    progress.start(2, 7, 'training in e')
    clock[0] += 120.0
    progress.done()
    assert lines[0] == '[kfold] fold 1 of 10, seed 7: done, skipped'
    assert lines[1] == ('[kfold] fold 2 of 10, seed 7: training in d (run 1 '
                        'of 3; ETA of the whole run unknown)')
    # One fold of 60 s done, two left.
    assert lines[2].endswith('(run 2 of 3; ETA of the whole run 0:02:00)')
    # Mean 90 s, one left.
    assert progress.eta() == 90.0
    assert format_duration(3725) == '1:02:05'
