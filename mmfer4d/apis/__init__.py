# Copyright (c) mmfer4d contributors. All rights reserved.
from .fer_inferencer import (FERInferencer, draw_views, save_views,
                             shown_frame)
from .kfold import (aggregate_folds, config_num_folds, describe_protocol,
                    fold_has_checkpoint, fold_is_done, fold_work_dir,
                    format_kfold_markdown, iter_dataset_cfgs,
                    leaderboard_values, pool_predictions, run_fold, set_fold,
                    split_subjects)
from .kfold_logging import KFoldProgress, build_runner
from .kfold_pretrain import (PretrainLeakError, checkpoint_keys,
                             last_checkpoint, pretrained_checkpoint_key,
                             read_pretrain_record, set_pretrained_checkpoint)
from .kfold_runner import run_kfold, write_summary
from .web_demo import FERWebDemo

__all__ = [
    'FERInferencer', 'draw_views', 'save_views', 'shown_frame',
    'aggregate_folds', 'config_num_folds',
    'describe_protocol', 'fold_has_checkpoint', 'fold_is_done',
    'fold_work_dir', 'format_kfold_markdown', 'iter_dataset_cfgs',
    'leaderboard_values', 'pool_predictions', 'run_fold', 'set_fold',
    'split_subjects', 'KFoldProgress', 'build_runner', 'PretrainLeakError',
    'checkpoint_keys', 'last_checkpoint', 'pretrained_checkpoint_key',
    'read_pretrain_record', 'set_pretrained_checkpoint', 'run_kfold',
    'write_summary', 'FERWebDemo'
]
