# Copyright (c) mmfer4d contributors. All rights reserved.
"""MultiViewVisualizationHook on a tiny fake runner.

The end-to-end case (a real runner through ``tools/test.py --show-dir``) is
in ``tests/test_tools/test_train_test.py``.
"""
import logging
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmpretrain.structures import DataSample

import mmfer4d.engine.hooks.multiview_visualization_hook as hook_module
from mmfer4d.engine.hooks import MultiViewVisualizationHook
from mmfer4d.registry import HOOKS

CLASSES = ('anger', 'happiness', 'surprise')


class _Visualizer:

    def __init__(self):
        self.images = []

    def add_image(self, name, image, step=0):
        self.images.append((name, image, step))


def _runner(tmp_path):
    loop = SimpleNamespace(dataloader=SimpleNamespace(
        dataset=SimpleNamespace(metainfo=dict(classes=CLASSES))))
    return SimpleNamespace(test_loop=loop, val_loop=loop, train_loop=None,
                           epoch=3, iter=30, log_dir=str(tmp_path / 'log'),
                           logger=logging.getLogger('test_mv_vis_hook'),
                           visualizer=_Visualizer())


def _batch(start, gts, preds, shape=(3, 4, 8, 8),
           modalities=('depth', 'normal')):
    """A packed batch: uint8 inputs and predicted DataSamples."""
    rng = np.random.default_rng(start)
    inputs = [torch.from_numpy(rng.integers(0, 256, shape, dtype=np.uint8))
              for _ in gts]
    outputs = []
    for k, (gt, pred) in enumerate(zip(gts, preds)):
        score = torch.full((len(CLASSES), ), 0.1)
        score[pred] = 0.8
        sample = DataSample(metainfo=dict(
            sample_idx=start + k, subject='F0001', modalities=modalities,
            view_angles=[(0, 0, 0), (-45, 0, 0),
                         (45, 0, 0)][:shape[-4] if len(shape) > 3 else 1]))
        sample.set_gt_label(gt).set_pred_score(score).set_pred_label(pred)
        outputs.append(sample)
    return dict(inputs=inputs, data_samples=outputs), outputs


def _run_test(hook, runner, batches):
    hook.before_test_epoch(runner)
    for i, (data, outputs) in enumerate(batches):
        hook.after_test_iter(runner, i, data, outputs)
    hook.after_test_epoch(runner, {})


def test_test_run_saves_every_interval_and_a_confusion_matrix(
        tmp_path, monkeypatch):
    matrices = []
    real_plot = hook_module.plot_confusion_matrix

    def spy(matrix, classes, out_file, **kwargs):
        matrices.append((np.array(matrix), classes))
        return real_plot(matrix, classes, out_file, **kwargs)

    monkeypatch.setattr(hook_module, 'plot_confusion_matrix', spy)
    out = tmp_path / 'vis'
    hook = HOOKS.build(dict(type='MultiViewVisualizationHook', enable=True,
                            interval=2, out_dir=str(out)))
    runner = _runner(tmp_path)
    # Batches of 3 and 2: the interval counts samples across batches.
    _run_test(hook, runner, [_batch(0, [0, 1, 2], [0, 1, 1]),
                             _batch(3, [1, 2], [1, 0])])
    assert sorted(p.name for p in out.glob('sample_*.png')) == \
        ['sample_0_0.png', 'sample_2_0.png', 'sample_4_0.png']
    assert (out / 'confusion_matrix.png').read_bytes()[:4] == b'\x89PNG'
    (matrix, classes), = matrices
    assert classes == list(CLASSES)
    np.testing.assert_array_equal(matrix, [[1, 0, 0], [0, 2, 0], [1, 1, 0]])
    assert runner.visualizer.images == []


def test_title_names_classes_and_marks_errors(tmp_path, monkeypatch):
    calls = []
    real_draw = hook_module.draw_multiview_grid

    def spy(inputs, **kwargs):
        calls.append(kwargs)
        return real_draw(inputs, **kwargs)

    monkeypatch.setattr(hook_module, 'draw_multiview_grid', spy)
    hook = MultiViewVisualizationHook(enable=True, interval=1,
                                      out_dir=str(tmp_path),
                                      confusion_matrix=False)
    _run_test(hook, _runner(tmp_path), [_batch(0, [1, 2], [1, 0])])
    assert 'GT: happiness  Pred: happiness (' in calls[0]['title']
    assert calls[0]['title_color'] == 'green'
    assert 'GT: surprise  Pred: anger' in calls[1]['title']
    assert calls[1]['title_color'] == 'red'
    assert calls[0]['modalities'] == ('depth', 'normal')
    assert calls[0]['view_names'][1] == 'yaw -45, pitch 0'
    assert not (tmp_path / 'confusion_matrix.png').exists()


def test_sequences_without_out_dir_go_to_the_visualizer(tmp_path):
    hook = MultiViewVisualizationHook(enable=True, interval=1)
    runner = _runner(tmp_path)
    data, outputs = _batch(0, [0], [2], shape=(5, 2, 1, 8, 8),
                           modalities=('depth', ))
    hook.before_val_epoch(runner)
    hook.after_val_iter(runner, 0, data, outputs)
    (name, image, step), = runner.visualizer.images
    assert name == 'sample_0' and step == runner.iter  # not epoch-based
    assert image.dtype == np.uint8 and image.ndim == 3 \
        and image.shape[2] == 3
    # Test runs without out_dir write the confusion matrix to the log dir.
    _run_test(hook, runner, [(data, outputs)])
    assert (tmp_path / 'log' / 'confusion_matrix.png').is_file()


def test_disabled_hook_draws_nothing(tmp_path):
    hook = MultiViewVisualizationHook(interval=1, out_dir=str(tmp_path))
    runner = _runner(tmp_path)
    _run_test(hook, runner, [_batch(0, [0], [0])])
    assert list(tmp_path.iterdir()) == [] and not runner.visualizer.images


def test_bad_inputs_raise_naming_the_sample(tmp_path):
    hook = MultiViewVisualizationHook(enable=True, interval=1,
                                      out_dir=str(tmp_path))
    with pytest.raises(ValueError, match='sample_7.*have 1 channels'):
        _run_test(hook, _runner(tmp_path),
                  [_batch(7, [0], [0], modalities=('depth', ))])
    with pytest.raises(ValueError, match='interval'):
        MultiViewVisualizationHook(interval=0)


def test_plain_zoo_images_are_drawn_as_one_view(tmp_path):
    """``(C, H, W)`` inputs of zoo configs, without ``modalities``."""
    hook = MultiViewVisualizationHook(enable=True, interval=1,
                                      out_dir=str(tmp_path),
                                      confusion_matrix=False)
    data, outputs = _batch(0, [1], [1], shape=(3, 8, 8), modalities=None)
    outputs[0].set_metainfo(dict(img_path='/data/calm/0.png'))
    _run_test(hook, _runner(tmp_path), [(data, outputs)])
    assert (tmp_path / '0_0.png').read_bytes()[:4] == b'\x89PNG'
