# Copyright (c) mmfer4d contributors. All rights reserved.
"""Pictures of multi-view predictions during validation and testing."""
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np
import torch
from mmengine.dist import all_gather_object, is_main_process
from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop

from mmfer4d.registry import HOOKS
from mmfer4d.visualization import (draw_multiview_grid, figure_to_array,
                                   plot_confusion_matrix, save_figure)


def _loop_classes(loop) -> Optional[List[str]]:
    """Class names from the metainfo of a loop's data set, if any."""
    try:
        meta = loop.dataloader.dataset.metainfo
    except AttributeError:
        return None
    classes = (meta or {}).get('classes')
    return None if classes is None else [str(c) for c in classes]


def _label(value) -> Optional[int]:
    """An int label from a label tensor (``(1,)``) or number; None if
    missing or negative (unknown)."""
    if value is None:
        return None
    if isinstance(value, torch.Tensor):
        if value.numel() == 0:
            return None
        value = value.reshape(-1)[0].item()
    value = int(value)
    return value if value >= 0 else None


@HOOKS.register_module()
class MultiViewVisualizationHook(Hook):
    """Save the rendered views of val/test samples with their predictions,
    and a confusion matrix of the test run.

    The view-aware counterpart of mmpretrain's ``VisualizationHook``, which
    draws one ``(C, H, W)`` image per sample and fails on the ``(V, C, H,
    W)`` (scans) and ``(T, V, C, H, W)`` (sequences) inputs of mmfer4d.
    Every ``interval``-th sample is drawn as a grid with one column per view
    and one row per modality (the data sample's ``modalities`` metainfo;
    depth, shading and mask in grey, normal and rgb in colour; for
    sequences up to ``max_frames`` frames), titled with the ground truth and
    the predicted class (names from the data set's ``classes`` metainfo).
    Plain ``(C, H, W)`` images with 1 or 3 channels are drawn as one view,
    so the hook also serves zoo configs.

    With ``out_dir`` the pictures are PNG files there (``{name}_{step}.png``,
    ``name`` from the sample's file name, else ``sample_{sample_idx}``);
    without, they go to the visualizer's backends (``add_image``). At the end
    of a test run, ``confusion_matrix.png`` (true x predicted over all test
    samples, gathered from all processes) is written to ``out_dir``, else to
    the run's log dir. ``tools/test.py --show-dir DIR`` switches the hook on.

    Args:
        enable (bool): Whether to draw anything. Defaults to False.
        interval (int): Draw every ``interval``-th sample (counted over the
            samples of one val/test run of this process). Defaults to 5000.
        show (bool): Also display each picture in a window (needs a
            display). Defaults to False.
        out_dir (str, optional): Folder for the PNG files. Defaults to None
            (visualizer backends).
        wait_time (float): Seconds each shown picture stays, with ``show``.
            Defaults to 0.
        confusion_matrix (bool): Write the confusion matrix of test runs.
            Defaults to True.
        max_frames (int): Frames drawn per sequence, evenly spaced.
            Defaults to 4.

    Raises:
        ValueError: If ``interval`` is not positive; while drawing, if a
            sample's ``modalities`` do not match its channels.
    """

    priority = 'NORMAL'

    def __init__(self,
                 enable: bool = False,
                 interval: int = 5000,
                 show: bool = False,
                 out_dir: Optional[str] = None,
                 wait_time: float = 0.,
                 confusion_matrix: bool = True,
                 max_frames: int = 4) -> None:
        if int(interval) < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        self.enable = enable
        self.interval = int(interval)
        self.show = show
        self.out_dir = out_dir
        self.wait_time = wait_time
        self.confusion_matrix = confusion_matrix
        self.max_frames = max_frames
        self._seen = 0
        self._classes = None
        self._pairs = []  # (sample_idx, gt, pred) of the test run

    # -- loop hooks ---------------------------------------------------------
    def before_val_epoch(self, runner) -> None:
        self._seen = 0
        self._classes = _loop_classes(runner.val_loop)

    def before_test_epoch(self, runner) -> None:
        self._seen = 0
        self._pairs = []
        self._classes = _loop_classes(runner.test_loop)

    def after_val_iter(self,
                       runner,
                       batch_idx: int,
                       data_batch: dict = None,
                       outputs: Optional[Sequence] = None) -> None:
        """Draw every ``interval``-th validation sample (step = epoch for
        epoch-based training, else iteration)."""
        if not self.enable:
            return
        step = runner.epoch if isinstance(
            runner.train_loop, EpochBasedTrainLoop) else runner.iter
        self._draw_batch(runner, data_batch, outputs, step)

    def after_test_iter(self,
                        runner,
                        batch_idx: int,
                        data_batch: dict = None,
                        outputs: Optional[Sequence] = None) -> None:
        """Draw every ``interval``-th test sample and record all labels."""
        if not self.enable:
            return
        if self.confusion_matrix:
            for sample in outputs or []:
                self._pairs.append(
                    (sample.metainfo.get('sample_idx'),
                     _label(sample.get('gt_label')), self._pred(sample)))
        self._draw_batch(runner, data_batch, outputs, 0)

    def after_test_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        """Write ``confusion_matrix.png`` (main process only)."""
        if not (self.enable and self.confusion_matrix):
            return
        gathered = all_gather_object(self._pairs)
        self._pairs = []
        if not is_main_process():
            return
        # A distributed sampler pads the last batch with repeated samples.
        pairs, seen = [], set()
        for idx, gt, pred in (p for part in gathered for p in part):
            if idx is not None and idx in seen:
                continue
            seen.add(idx)
            if gt is not None and pred is not None:
                pairs.append((gt, pred))
        if not pairs:
            runner.logger.warning(
                'MultiViewVisualizationHook: no test sample has both a '
                'ground-truth and a predicted label; no confusion matrix')
            return
        num = max(max(p) for p in pairs) + 1
        classes = self._classes
        if classes is not None and len(classes) >= num:
            num = len(classes)
        else:
            classes = None
        matrix = np.zeros((num, num), dtype=np.int64)
        for gt, pred in pairs:
            matrix[gt, pred] += 1
        out_dir = self.out_dir if self.out_dir is not None else \
            runner.log_dir
        out_file = plot_confusion_matrix(
            matrix, classes, osp.join(out_dir, 'confusion_matrix.png'),
            title=f'Confusion matrix ({len(pairs)} test samples)')
        runner.logger.info(f'Confusion matrix written to {out_file}')

    # -- drawing ------------------------------------------------------------
    @staticmethod
    def _pred(sample) -> Optional[int]:
        if 'pred_label' in sample:
            return _label(sample.pred_label)
        if 'pred_score' in sample:
            return int(sample.pred_score.argmax())
        return None

    def _class_name(self, label: Optional[int]) -> str:
        if label is None:
            return '?'
        if self._classes is not None and label < len(self._classes):
            return self._classes[label]
        return str(label)

    def _draw_batch(self, runner, data_batch: dict, outputs: Sequence,
                    step: int) -> None:
        inputs = data_batch['inputs']
        for i, sample in enumerate(outputs):
            index = self._seen + i
            if index % self.interval:
                continue
            self._draw_sample(runner, inputs[i], sample, index, step)
        self._seen += len(outputs)

    def _sample_name(self, sample, index: int) -> str:
        for key in ('img_path', 'mesh_path'):
            path = sample.metainfo.get(key)
            if isinstance(path, str):
                return osp.splitext(osp.basename(path))[0]
        paths = sample.metainfo.get('frame_paths')
        if isinstance(paths, (list, tuple)) and paths:
            return osp.splitext(osp.basename(str(paths[0])))[0]
        return f'sample_{sample.metainfo.get("sample_idx", index)}'

    def _draw_sample(self, runner, inputs, sample, index: int,
                     step: int) -> None:
        name = self._sample_name(sample, index)
        gt = _label(sample.get('gt_label'))
        pred = self._pred(sample)
        title = f'{name}  GT: {self._class_name(gt)}  ' \
                f'Pred: {self._class_name(pred)}'
        if pred is not None and 'pred_score' in sample:
            title += f' ({100 * float(sample.pred_score[pred]):.1f}%)'
        subject = sample.metainfo.get('subject')
        if subject:
            title += f'  [{subject}]'
        angles = sample.metainfo.get('view_angles')
        view_names = None
        if angles is not None:
            view_names = [
                f'yaw {a[0]:g}, pitch {a[1]:g}' for a in angles
            ]
        color = 'black' if gt is None or pred is None else (
            'green' if gt == pred else 'red')
        try:
            fig = draw_multiview_grid(
                inputs,
                modalities=sample.metainfo.get('modalities'),
                view_names=view_names,
                title=title,
                title_color=color,
                max_frames=self.max_frames)
        except ValueError as err:
            raise ValueError(f'MultiViewVisualizationHook: sample {name}: '
                             f'{err}') from err
        if self.out_dir is not None:
            save_figure(fig, osp.join(self.out_dir, f'{name}_{step}.png'))
        image = None
        if self.out_dir is None or self.show:
            image = figure_to_array(fig)
        if self.out_dir is None:
            runner.visualizer.add_image(name, image, step=step)
        if self.show:
            runner.visualizer.show(
                image, win_name=name, wait_time=self.wait_time)
