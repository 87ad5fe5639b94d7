# Copyright (c) mmfer4d contributors. All rights reserved.
"""A self-contained tiny FER setup for the tool tests (k-fold, leaderboard).

``TinyFERDataset`` is a :class:`BaseFERDataset` of 32x32 grey images whose
brightness pattern depends on the class, so that LeNet-5 learns something
in one epoch; ``tiny_config`` returns a complete mmengine config using it.
"""
import numpy as np
from mmengine.config import Config
from mmengine.hooks import Hook

from mmfer4d.datasets.base_fer_dataset import BaseFERDataset
from mmfer4d.registry import DATASETS, HOOKS


@DATASETS.register_module(force=True)
class TinyFERDataset(BaseFERDataset):
    """``num_subjects`` subjects x 2 classes x ``per_class`` images."""

    METAINFO = dict(classes=('happiness', 'sadness'))

    def __init__(self, num_subjects=4, per_class=2, **kwargs):
        self.num_subjects = num_subjects
        self.per_class = per_class
        super().__init__(**kwargs)

    def load_raw_data_list(self):
        rng = np.random.default_rng(0)
        out = []
        for s in range(self.num_subjects):
            for label in (0, 1):
                for _ in range(self.per_class):
                    img = rng.integers(0, 60, (32, 32), dtype=np.uint8)
                    rows = slice(0, 16) if label == 0 else slice(16, 32)
                    img[rows] += 150
                    out.append(
                        dict(img=img, gt_label=label, subject=f'S{s:02d}'))
        return out


@HOOKS.register_module(force=True)
class SimulatedInterruptHook(Hook):
    """Raise once after an epoch of one fold, as if the job was killed.

    It only fires while the file ``flag_file`` exists and deletes it.
    """
    priority = 'LOWEST'  # after CheckpointHook has saved the epoch

    def __init__(self, flag_file, fold, epoch=1):
        self.flag_file = flag_file
        self.fold = fold
        self.epoch = epoch

    def after_train_epoch(self, runner):
        import os
        fold = runner.train_dataloader.dataset.fold
        # runner.epoch counts finished epochs only after this hook.
        if fold == self.fold and runner.epoch + 1 == self.epoch and \
                os.path.exists(self.flag_file):
            os.remove(self.flag_file)
            raise RuntimeError('simulated interruption')


def tiny_config(path, max_epochs=1, custom_hooks=()):
    """Write the tiny config to ``path`` and return it."""
    dataset = dict(type='TinyFERDataset', num_subjects=4, per_class=2,
                   pipeline=[dict(type='PackInputs',
                                  meta_keys=('sample_idx', 'subject'))])
    loader = dict(batch_size=4, num_workers=0,
                  sampler=dict(type='DefaultSampler', shuffle=False),
                  dataset=dataset)
    cfg = dict(
        default_scope='mmfer4d',
        model=dict(
            type='ImageClassifier',
            data_preprocessor=dict(type='ClsDataPreprocessor',
                                   mean=[128.], std=[64.], num_classes=2),
            backbone=dict(type='LeNet5', num_classes=-1),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=2, in_channels=120,
                      loss=dict(type='CrossEntropyLoss'))),
        train_dataloader=dict(loader,
                              sampler=dict(type='DefaultSampler',
                                           shuffle=True)),
        val_dataloader=None, val_cfg=None, val_evaluator=None,
        test_dataloader=loader,
        test_cfg=dict(),
        test_evaluator=[dict(type='PerClassAccuracy'),
                        dict(type='MERMetric')],
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05,
                                          momentum=0.9)),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=1),
            logger=dict(type='LoggerHook', interval=1)),
        env_cfg=dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo')),
        log_level='WARNING',
        custom_hooks=list(custom_hooks),
        randomness=dict(seed=0))
    Config(cfg).dump(str(path))
    return str(path)
