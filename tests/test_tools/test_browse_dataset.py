# Copyright (c) mmfer4d contributors. All rights reserved.
"""tools/visualization/browse_dataset.py: labelled grids of the renders."""
import importlib.util
import os.path as osp
import sys

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, HERE)
from tiny_fer_helpers import (REPO, SMILE_VLM_CONFIG,  # noqa: E402
                              tiny_smile_vlm_options)


def _tool():
    spec = importlib.util.spec_from_file_location(
        '_browse_dataset',
        osp.join(REPO, 'tools', 'visualization', 'browse_dataset.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_view_modality_and_the_class_are_labelled(
        tmp_path, monkeypatch):
    tool = _tool()
    figures = []
    draw = tool.draw_sample

    def spy(*args, **kwargs):
        figures.append(draw(*args, **kwargs))
        return figures[-1]

    monkeypatch.setattr(tool, 'draw_sample', spy)
    options = [o for o in tiny_smile_vlm_options()
               if o.startswith('train_dataloader.')]
    paths = tool.main([
        SMILE_VLM_CONFIG, '--output-dir',
        str(tmp_path), '--num', '2', '--cfg-options'
    ] + options)
    assert len(paths) == 2 and all(osp.getsize(p) > 0 for p in paths)
    fig = figures[0]
    # 3 views x (depth, normal): column titles on the first row, row
    # labels on the first column
    axes = fig.axes
    assert len(axes) == 6
    assert [a.get_title() for a in axes[:3]] == [
        'front (yaw 0)', 'left (yaw 45)', 'right (yaw -45)'
    ]
    assert [axes[0].get_ylabel(), axes[3].get_ylabel()] == ['depth',
                                                            'normal']
    title = fig._suptitle.get_text()
    # SyntheticFER3D's first sample: subject F0001's anger, label 0
    assert title.startswith('#0  anger (label 0)  subject F0001')
    assert 'intensity 4' in title
    assert osp.basename(paths[0]) == '0000_F0001_anger.png'
