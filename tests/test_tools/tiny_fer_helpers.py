# Copyright (c) mmfer4d contributors. All rights reserved.
"""The tiny SMILE-VLM setup of the tool tests (train/test, k-fold).

The tests run the real tiny config
(``configs/smile_vlm/smile-vlm_resnet18-w16_scratch_1xb32-20e_synthetic-
fer3d-3view.py``, SMILE-VLM on ``SyntheticFER3D``) shrunk on the command
line by :func:`tiny_smile_vlm_options`: 4 subjects in 2 folds, the highest
intensity only (so 6 scans per subject, 12 per fold), 32 px renders, batches
of 4, no loader workers, 1 epoch. ``SimulatedInterruptHook`` plays a
killed job for the k-fold resume test.
"""
import os
import os.path as osp

from mmengine.config import Config
from mmengine.hooks import Hook

from mmfer4d.registry import HOOKS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SMILE_VLM_CONFIG = osp.join(
    REPO, 'configs', 'smile_vlm',
    'smile-vlm_resnet18-w16_scratch_1xb32-20e_synthetic-fer3d-3view.py')
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def tiny_smile_vlm_options(config=SMILE_VLM_CONFIG,
                           num_subjects=4,
                           num_folds=2,
                           size=32,
                           batch_size=4,
                           max_epochs=1,
                           validate=True):
    """``--cfg-options`` entries that shrink a SyntheticFER3D config.

    Args:
        config (str): The config; its ``RenderMultiView`` steps are looked
            up to override their ``size``.
        validate (bool): Also shrink ``val_dataloader``. Defaults to True.

    Returns:
        list[str]: ``key=value`` entries (for ``--cfg-options``).
    """
    cfg = Config.fromfile(config)
    options = []
    for loader in LOADERS:
        if loader == 'val_dataloader' and not validate:
            continue
        dataset = f'{loader}.dataset'
        options += [
            f'{dataset}.num_subjects={num_subjects}',
            f'{dataset}.num_folds={num_folds}',
            f'{dataset}.intensities=[4]',
            f'{loader}.batch_size={batch_size}',
            f'{loader}.num_workers=0',
            f'{loader}.persistent_workers=False',
        ]
        for i, step in enumerate(cfg[loader].dataset.pipeline):
            if step['type'] == 'RenderMultiView':
                options.append(f'{dataset}.pipeline.{i}.size={size}')
    options += [
        f'train_cfg.max_epochs={max_epochs}', 'default_hooks.logger.interval=1'
    ]
    return options


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
        fold = runner.train_dataloader.dataset.fold
        # runner.epoch counts finished epochs only after this hook.
        if fold == self.fold and runner.epoch + 1 == self.epoch and \
                os.path.exists(self.flag_file):
            os.remove(self.flag_file)
            raise RuntimeError('simulated interruption')
