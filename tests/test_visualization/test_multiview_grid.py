# Copyright (c) mmfer4d contributors. All rights reserved.
import numpy as np
import pytest
import torch

from mmfer4d.visualization import (draw_multiview_grid, figure_to_array,
                                   save_figure, split_modalities)


def _views(num_views=3, channels=4, size=8, frames=None, seed=0):
    rng = np.random.default_rng(seed)
    shape = (num_views, channels, size, size)
    if frames is not None:
        shape = (frames, ) + shape
    return rng.integers(0, 256, shape, dtype=np.uint8)


def test_split_modalities_follows_the_channel_layout():
    view = _views(1, 1 + 3 + 1)[0]  # depth, normal, mask
    parts = split_modalities(view, ('depth', 'normal', 'mask'))
    assert [name for name, _ in parts] == ['depth', 'normal', 'mask']
    np.testing.assert_array_equal(parts[0][1], view[0])
    np.testing.assert_array_equal(parts[1][1], view[1:4].transpose(1, 2, 0))
    np.testing.assert_array_equal(parts[2][1], view[4])
    # Without names: 1 channel grey, 3 colour, otherwise one per channel.
    assert split_modalities(view[:1])[0][0] == 'grey'
    assert split_modalities(view[:3])[0][1].shape == (8, 8, 3)
    assert [n for n, _ in split_modalities(view[:2])] == ['ch0', 'ch1']


def test_split_modalities_errors():
    view = _views(1, 4)[0]
    with pytest.raises(ValueError, match='have 1 channels but the view has 4'):
        split_modalities(view, ('depth', ))
    with pytest.raises(ValueError, match=r"unknown modalities \['albedo'\]"):
        split_modalities(view, ('albedo', ))
    with pytest.raises(ValueError, match='must be'):
        split_modalities(view[0])


def test_grid_has_a_panel_per_view_and_modality(tmp_path):
    views = _views(3, 4)
    fig = draw_multiview_grid(torch.from_numpy(views), ('depth', 'normal'),
                              view_names=['front', 'left', 'right'],
                              title='GT: x')
    assert len(fig.axes) == 3 * 2
    # Row-major: row 0 depth of each view, row 1 normals.
    np.testing.assert_array_equal(fig.axes[1].images[0].get_array(),
                                  views[1, 0])
    np.testing.assert_array_equal(fig.axes[5].images[0].get_array(),
                                  views[2, 1:4].transpose(1, 2, 0))
    assert fig.axes[0].get_title() == 'front'
    assert fig.axes[3].get_ylabel() == 'normal'
    pixels = figure_to_array(fig)
    assert pixels.dtype == np.uint8 and pixels.ndim == 3 \
        and pixels.shape[2] == 3
    out = save_figure(fig, str(tmp_path / 'a' / 'grid.png'))
    assert open(out, 'rb').read(4) == b'\x89PNG'


def test_grid_of_a_sequence_picks_evenly_spaced_frames():
    views = _views(2, 1, frames=7)
    fig = draw_multiview_grid(views, ('depth', ), max_frames=3)
    assert len(fig.axes) == 3 * 2
    assert [fig.axes[2 * r].get_ylabel() for r in range(3)] == \
        ['t=0 depth', 't=3 depth', 't=6 depth']
    np.testing.assert_array_equal(fig.axes[3].images[0].get_array(),
                                  views[3, 1, 0])


def test_grid_scales_float_inputs_and_rejects_bad_shapes():
    fig = draw_multiview_grid(np.linspace(-1, 1, 16).reshape(1, 1, 4, 4))
    shown = fig.axes[0].images[0].get_array()
    assert shown.dtype == np.uint8 and shown.min() == 0 and shown.max() == 255
    with pytest.raises(ValueError, match=r'\(T, V, C, H, W\)'):
        draw_multiview_grid(np.zeros((4, 4), np.uint8))


def test_view_labels_name_the_named_views():
    from mmfer4d.visualization import view_labels
    assert view_labels([(0, 0, 0), (45, 0, 0), (-45.0, 0.0, 0.0),
                        (30, 10, 0), (0, 0, 5)]) == [
                            'front (yaw 0)', 'left (yaw 45)',
                            'right (yaw -45)', 'yaw 30, pitch 10',
                            'yaw 0, roll 5'
                        ]
