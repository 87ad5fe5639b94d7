# Copyright (c) mmfer4d contributors. All rights reserved.
"""Report of the samples skipped because their files are broken."""
import json
import logging
import os
import os.path as osp
from collections import Counter
from typing import List, Optional

from mmengine.dist import all_gather_object, is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import BaseLoop

from mmfer4d.datasets.skipped_sample import (SKIPPED_KEY, batch_size,
                                             skipped_records)
from mmfer4d.engine.loader_wrapper import LoaderWrapper
from mmfer4d.registry import HOOKS


class _SkippingLoader(LoaderWrapper):
    """A loop's data loader (or iterator) that reports skipped samples.

    It passes every batch through, records the ``skipped_samples`` that
    :func:`skip_broken_collate` put in it, and leaves out batches whose
    samples were all skipped, which no model can run on; for a val/test
    loop such a batch still goes to the evaluator, so that the metrics
    count its samples as skipped. Other attributes are the wrapped
    loader's (``dataset``, ``sampler``, ``len()``...).
    """

    def __init__(self, loader, hook: 'SkippedSampleHook', phase: str,
                 runner, evaluator=None):
        super().__init__(loader)
        self._hook = hook
        self._phase = phase
        self._runner = runner
        self._evaluator = evaluator

    def __iter__(self):
        for batch in self.loader:
            batch = self._filter(batch)
            if batch is not None:
                yield batch

    def __next__(self):
        while True:
            batch = self._filter(next(self.loader))
            if batch is not None:
                return batch

    def _filter(self, batch):
        if not isinstance(batch, dict):
            return batch
        records = skipped_records(batch)
        if records:
            self._hook.add(self._phase, records, self._runner)
        if self._phase == 'train':
            batch.pop(SKIPPED_KEY, None)
        if batch_size(batch) > 0:
            return batch
        if self._evaluator is not None:
            self._evaluator.process(data_samples=[], data_batch=batch)
        return None


@HOOKS.register_module()
class SkippedSampleHook(Hook):
    """Count and report the samples skipped because of broken files.

    Works with data sets built with ``skip_broken`` (see
    :class:`~mmfer4d.datasets.BaseFERDataset`) and loaders whose
    ``collate_fn`` is ``dict(type='skip_broken_collate')``. Before each
    train, val and test loop it wraps the loop's data loader so that the
    records carried by the batches, from every data-loader worker, are
    collected in the main process, and batches whose samples were all
    skipped never reach the model (val/test metrics still count them). At
    the end of the run the records of all ranks are gathered; rank 0 logs
    one summary line (the broken files, how often they were skipped, per
    phase) and writes them all to ``{work_dir}/{out_file}``::

        {"num_skipped": 2, "files": ["/data/.../F0003_AN04WH_F3D.wrl", ...],
         "by_phase": {"test": {"dropped": 2, "replaced": 0}},
         "records": [{"phase": "test", "epoch": 0, "index": 5,
                      "files": [...], "error": "...", "dataset":
                      "BU3DFEDataset", "subject": "F0003",
                      "action": "dropped"}, ...]}

    The file is written also when nothing was skipped, so that its absence
    never has to be read as "nothing skipped".

    Args:
        out_file (str): File name in the work dir. Defaults to
            ``'skipped_samples.json'``.
        max_listed (int): Files named in the summary line; the JSON holds
            all. Defaults to 10.
    """

    priority = 'NORMAL'

    def __init__(self, out_file: str = 'skipped_samples.json',
                 max_listed: int = 10):
        self.out_file = out_file
        self.max_listed = max_listed
        self.records: List[dict] = []

    def add(self, phase: str, records: List[dict], runner=None):
        """Keep the records of one batch (called by the wrapped loader)."""
        # Not runner.epoch: in a test run it would build the train loop.
        loop = getattr(runner, '_train_loop', None)
        epoch = loop.epoch if isinstance(loop, BaseLoop) else 0
        for record in records:
            self.records.append(dict(record, phase=phase, epoch=epoch))

    def _wrap(self, runner, loop, phase: str):
        evaluator = getattr(loop, 'evaluator', None) \
            if phase != 'train' else None
        if hasattr(loop, 'dataloader_iterator'):  # IterBasedTrainLoop
            if not isinstance(loop.dataloader_iterator, _SkippingLoader):
                loop.dataloader_iterator = _SkippingLoader(
                    loop.dataloader_iterator, self, phase, runner)
        elif not isinstance(loop.dataloader, _SkippingLoader):
            loop.dataloader = _SkippingLoader(loop.dataloader, self, phase,
                                              runner, evaluator)

    def before_train(self, runner) -> None:
        self._wrap(runner, runner.train_loop, 'train')

    def before_val(self, runner) -> None:
        self._wrap(runner, runner.val_loop, 'val')

    def before_test(self, runner) -> None:
        self._wrap(runner, runner.test_loop, 'test')

    def summary(self, records: Optional[List[dict]] = None) -> dict:
        """The report of ``records`` (default: this process's)."""
        records = self.records if records is None else records
        by_phase = {}
        for r in records:
            counts = by_phase.setdefault(r['phase'],
                                         dict(dropped=0, replaced=0))
            counts[r.get('action', 'dropped')] = \
                counts.get(r.get('action', 'dropped'), 0) + 1
        files = sorted({f for r in records for f in r.get('files', ())})
        return dict(num_skipped=len(records), files=files,
                    by_phase=by_phase, records=records)

    def summary_line(self, report: dict) -> str:
        """One line naming the broken files and how often they were
        skipped."""
        if not report['num_skipped']:
            return 'SkippedSampleHook: no sample was skipped.'
        phases = '; '.join(
            f'{phase}: ' + ', '.join(f'{n} {action}'
                                     for action, n in counts.items() if n)
            for phase, counts in sorted(report['by_phase'].items()))
        times = Counter(f for r in report['records'] for f in r['files'])
        files = report['files']
        listed = ', '.join(f'{f} (x{times[f]})' if times[f] > 1 else f
                           for f in files[:self.max_listed])
        more = f' and {len(files) - self.max_listed} more' \
            if len(files) > self.max_listed else ''
        return (f'SkippedSampleHook: {report["num_skipped"]} samples '
                f'skipped because of {len(files)} broken files ({phases}): '
                f'{listed}{more}')

    def after_run(self, runner) -> None:
        gathered = all_gather_object(self.records)
        if not is_main_process():
            return
        report = self.summary([r for part in gathered for r in part])
        line = self.summary_line(report)
        work_dir = getattr(runner, 'work_dir', None)
        if work_dir:
            os.makedirs(work_dir, exist_ok=True)
            path = osp.join(work_dir, self.out_file)
            with open(path, 'w') as f:
                json.dump(report, f, indent=1)
            line += f'; records in {path}'
        print_log(line, logger='current',
                  level=logging.WARNING if report['num_skipped'] else
                  logging.INFO)
