# Copyright (c) mmfer4d contributors. All rights reserved.
from .fer_inferencer import FERInferencer, save_views
from .kfold import (aggregate_folds, describe_protocol, fold_has_checkpoint,
                    fold_is_done, fold_work_dir, format_kfold_markdown,
                    iter_dataset_cfgs, leaderboard_values, pool_predictions,
                    run_fold, set_fold)

__all__ = [
    'FERInferencer', 'save_views', 'aggregate_folds', 'describe_protocol',
    'fold_has_checkpoint',
    'fold_is_done', 'fold_work_dir', 'format_kfold_markdown',
    'iter_dataset_cfgs', 'leaderboard_values', 'pool_predictions',
    'run_fold', 'set_fold'
]
