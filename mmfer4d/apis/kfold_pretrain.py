# Copyright (c) mmfer4d contributors. All rights reserved.
"""Pre-training per fold, for linear-probe and fine-tuning protocols.

A linear probe (or fine-tuning) of a pre-trained model is evaluated
subject-independently only when the pre-training of each fold saw none of
that fold's test subjects. One fixed checkpoint for every fold breaks this:
the checkpoint was pre-trained on subjects that some fold tests. So a
protocol run with a pre-training config pre-trains once per seed and fold,
on that fold's training subjects, and the probe of fold k starts from the
checkpoint of pre-training k::

    WORK_DIR/seed{S}/fold{K}/pretrain/   the pre-training Runner's work dir
        pretrained.json                  written last: checkpoint, subjects
    WORK_DIR/seed{S}/fold{K}/            the probe (metrics.json, ...)

The probe config names where its pre-trained checkpoint goes in one of the
two ways mmengine configs do: ``load_from = PATH`` or the model's
``init_cfg = dict(type='Pretrained', checkpoint=PATH)`` (the class names of
the model play no part). :func:`set_pretrained_checkpoint` points that key
at the fold's checkpoint; ``key`` chooses when a config has both.

Which pre-training config belongs to a probe config is given by the caller
(``tools/kfold.py --pretrain-config``) or by the probe config itself, in
the top-level field ``pretrain_config`` (a path, relative to the probe
config's folder or absolute).
"""
import json
import os.path as osp
from typing import List, Optional, Set

__all__ = [
    'PRETRAIN_DIR', 'PRETRAIN_RECORD', 'resolve_pretrain_config',
    'checkpoint_keys', 'pretrained_checkpoint_key',
    'set_pretrained_checkpoint', 'pretrain_work_dir', 'read_pretrain_record',
    'run_pretrain', 'last_checkpoint', 'check_subject_independence',
    'PretrainLeakError'
]

PRETRAIN_DIR = 'pretrain'
PRETRAIN_RECORD = 'pretrained.json'


class PretrainLeakError(RuntimeError):
    """A probe would test subjects its pre-trained model was trained on."""


def resolve_pretrain_config(probe_cfg, probe_path: str,
                            override: Optional[str] = None
                            ) -> Optional[str]:
    """The pre-training config of a probe config, or None.

    Args:
        probe_cfg (Config): The probe config.
        probe_path (str): Its file (relative ``pretrain_config`` paths are
            resolved against its folder).
        override (str, optional): A path given by the caller; wins.

    Returns:
        str | None: The path.

    Raises:
        FileNotFoundError: If the named config does not exist.
    """
    path = override
    if path is None:
        path = probe_cfg.get('pretrain_config', None)
        if path is not None and not osp.isabs(path):
            path = osp.normpath(
                osp.join(osp.dirname(osp.abspath(probe_path)), path))
    if path is not None and not osp.isfile(path):
        where = 'given' if override is not None else (
            f'named by pretrain_config in {probe_path}')
        raise FileNotFoundError(f'pre-training config {path} ({where}) does '
                                'not exist')
    return path


def checkpoint_keys(cfg) -> List[str]:
    """The config keys through which ``cfg`` loads a whole-model checkpoint.

    ``load_from`` when set, and ``model.init_cfg.checkpoint`` (or
    ``model.init_cfg.{i}.checkpoint`` for a list) when the model's own
    ``init_cfg`` has a ``checkpoint``. Sub-module ``init_cfg`` (e.g. a
    backbone's ImageNet weights) are not whole-model checkpoints and are
    left out.
    """
    keys = []
    if cfg.get('load_from', None):
        keys.append('load_from')
    model = cfg.get('model', None) or {}
    init = model.get('init_cfg', None)
    if isinstance(init, (list, tuple)):
        keys += [
            f'model.init_cfg.{i}.checkpoint' for i, item in enumerate(init)
            if isinstance(item, dict) and 'checkpoint' in item
        ]
    elif isinstance(init, dict) and 'checkpoint' in init:
        keys.append('model.init_cfg.checkpoint')
    return keys


def pretrained_checkpoint_key(cfg, key: Optional[str] = None,
                              config: str = 'the probe config') -> str:
    """The key that receives a fold's pre-trained checkpoint.

    Args:
        cfg (Config): The probe config, before any resume handling (so
            that its ``load_from`` is the config's own).
        key (str, optional): A dotted key given by the caller; wins.
        config (str): Name of the config for messages.

    Returns:
        str: A dotted config key.

    Raises:
        ValueError: If the config names no checkpoint, or several and
            ``key`` is None.
    """
    if key is not None:
        return key
    keys = checkpoint_keys(cfg)
    if len(keys) == 1:
        return keys[0]
    if not keys:
        raise ValueError(
            f'{config} loads no pre-trained checkpoint: a probe per fold '
            'needs `load_from = PATH` or `model.init_cfg = '
            "dict(type='Pretrained', checkpoint=PATH)` (PATH is replaced "
            "by each fold's pre-trained checkpoint), or --pretrain-key")
    raise ValueError(f'{config} names several checkpoints ({keys}); choose '
                     'the one that receives the pre-trained model with '
                     '--pretrain-key')


def set_pretrained_checkpoint(cfg, checkpoint: str, key: str,
                              resume: bool = False) -> None:
    """Point ``key`` of ``cfg`` at ``checkpoint`` (in place).

    With ``key='load_from'`` and ``resume`` True nothing is set: mmengine
    would resume from ``load_from`` itself, and a resumed probe restores
    its own checkpoint (which already holds the pre-trained weights).
    """
    if key == 'load_from' and resume:
        return
    cfg.merge_from_dict({key: checkpoint}, allow_list_keys=True)


def pretrain_work_dir(fold_dir: str) -> str:
    """``FOLD_DIR/pretrain``."""
    return osp.join(fold_dir, PRETRAIN_DIR)


def read_pretrain_record(pre_dir: str) -> Optional[dict]:
    """The record of a finished pre-training, or None.

    Returns:
        dict | None: ``checkpoint`` (absolute path), ``subjects`` (the
        ``(data set type, subject)`` pairs it trained on, as a set),
        ``fold``, ``num_folds`` and ``seed``.

    Raises:
        FileNotFoundError: If the record names a checkpoint that is gone.
    """
    path = osp.join(pre_dir, PRETRAIN_RECORD)
    if not osp.isfile(path):
        return None
    with open(path, encoding='utf-8') as f:
        record = json.load(f)
    record['checkpoint'] = osp.join(pre_dir, record['checkpoint'])
    if not osp.isfile(record['checkpoint']):
        raise FileNotFoundError(
            f'{path} names {record["checkpoint"]}, which does not exist; '
            f'delete {path} to pre-train this fold again')
    record['subjects'] = {tuple(s) for s in record['subjects']}
    return record


def last_checkpoint(run_dir: str) -> str:
    """The checkpoint mmengine saved last in ``run_dir``.

    Raises:
        FileNotFoundError: If the run saved none.
    """
    marker = osp.join(run_dir, 'last_checkpoint')
    if osp.isfile(marker):
        with open(marker, encoding='utf-8') as f:
            path = f.read().strip()
        for cand in (path, osp.join(run_dir, osp.basename(path))):
            if osp.isfile(cand):
                return cand
    raise FileNotFoundError(
        f'{run_dir}: the run saved no checkpoint (mmengine writes '
        '`last_checkpoint` with each save; keep '
        '`default_hooks.checkpoint.save_last=True`)')


def run_pretrain(cfg, pre_dir: str, quiet: bool = False) -> dict:
    """Pre-train one fold; record its last checkpoint and subjects.

    The model at the end of training is the one probed (as for every fold,
    no checkpoint is chosen on the held-out subjects). ``pretrained.json``
    is written only after training, so an interrupted pre-training is run
    again, resuming from its last checkpoint when ``cfg.resume`` is True.

    Args:
        cfg (Config): The pre-training config with the fold set
            (:func:`~mmfer4d.apis.kfold.set_fold`).
        pre_dir (str): Its work dir.
        quiet (bool): See :func:`~mmfer4d.apis.kfold.run_fold`.

    Returns:
        dict: As :func:`read_pretrain_record`.
    """
    from .kfold import (build_runner_in, close_file_handlers,
                        iter_dataset_cfgs, split_subjects, stop_loader_workers,
                        write_json)
    subjects = split_subjects(cfg, 'train_dataloader')
    dataset = next(iter_dataset_cfgs(cfg.train_dataloader['dataset']))
    runner = build_runner_in(cfg, pre_dir, quiet)
    try:
        runner.train()
    finally:
        close_file_handlers(runner)
        stop_loader_workers(runner)
    checkpoint = last_checkpoint(pre_dir)
    record = dict(
        checkpoint=osp.relpath(checkpoint, pre_dir),
        subjects=sorted([list(s) for s in subjects], key=str),
        fold=dataset.get('fold'),
        num_folds=dataset.get('num_folds'),
        seed=dataset.get('seed'))
    write_json(osp.join(pre_dir, PRETRAIN_RECORD), record)
    return read_pretrain_record(pre_dir)


def check_subject_independence(pretrained: Set[tuple], tested: Set[tuple],
                               where: str) -> None:
    """Refuse a probe whose test subjects its pre-training saw.

    Args:
        pretrained (set): ``(data set type, subject)`` pairs of the
            pre-training.
        tested (set): Those of the probe's test split.
        where (str): The fold, for the message.

    Raises:
        PretrainLeakError: If the two share a subject.
    """
    shared = pretrained & tested
    if shared:
        names = ', '.join(f'{t}:{s}' for t, s in sorted(shared, key=str)[:8])
        raise PretrainLeakError(
            f'{where}: the probe would test {len(shared)} subject(s) its '
            f'pre-trained model was trained on ({names}); the pre-training '
            'and probe configs must use the same data set and partition '
            '(num_folds, seed, subjects)')
