# Copyright (c) mmfer4d contributors. All rights reserved.
"""A hook that parks a training run mid-epoch so that a test can kill it.

Imported by the training subprocess of ``test_exact_resume.py`` through the
config's ``custom_imports`` (the test puts this folder on ``PYTHONPATH``).
"""
import os
import time

from mmengine.hooks import Hook

from mmfer4d.registry import HOOKS


@HOOKS.register_module(force=True)
class WaitForKillHook(Hook):
    """Write ``ready_file`` and sleep, after iteration ``iter_in_epoch`` of
    epoch ``epoch`` (both 1-based), until the process is killed.

    It draws no random number, so the run is the same as without it up to
    the point where it waits.

    Args:
        ready_file (str): Written when the hook starts waiting.
        epoch (int): Training epoch, counted from 1. Defaults to 2.
        iter_in_epoch (int): Iteration within the epoch, from 1.
            Defaults to 1.
        timeout_s (float): Give up waiting (raise) after this long, so a
            test that never kills the run does not hang. Defaults to 300.
    """
    priority = 'LOWEST'

    def __init__(self, ready_file, epoch=2, iter_in_epoch=1, timeout_s=300):
        self.ready_file = ready_file
        self.epoch = epoch
        self.iter_in_epoch = iter_in_epoch
        self.timeout_s = timeout_s

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if runner.epoch + 1 != self.epoch or \
                batch_idx + 1 != self.iter_in_epoch:
            return
        with open(self.ready_file, 'w') as f:
            f.write(f'{os.getpid()}\n')
        start = time.monotonic()
        while time.monotonic() - start < self.timeout_s:
            time.sleep(0.1)
        raise RuntimeError('WaitForKillHook: nobody killed the run')
