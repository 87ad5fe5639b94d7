# Copyright (c) mmfer4d contributors. All rights reserved.
"""FERInferencer and tools/infer.py on real mesh files.

The model is a stand-in (a linear classifier over the rendered views),
because this test must not depend on the SMILE-VLM config; the loading,
rendering and packing transforms are the real ones.
TODO(lead): add a case with the tiny SMILE-VLM config once it builds.
"""
import importlib.util
import os.path as osp

import numpy as np
import pytest
import torch
import trimesh
from mmengine.config import Config
from mmengine.model import BaseModel
from mmpretrain.structures import DataSample

from mmfer4d.apis import FERInferencer
from mmfer4d.registry import MODELS, TRANSFORMS

if TRANSFORMS.get('RenderMultiView') is None:
    pytest.skip('RenderMultiView transform not written yet',
                allow_module_level=True)


@MODELS.register_module(force=True)
class _StandInMultiViewClassifier(BaseModel):

    def __init__(self, num_classes=2, data_preprocessor=None):
        super().__init__(data_preprocessor=data_preprocessor)
        self.fc = torch.nn.LazyLinear(num_classes)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        inputs = inputs.flatten(1) / 255.0
        scores = self.fc(inputs).softmax(-1)
        out = []
        for i, score in enumerate(scores):
            sample = DataSample().set_pred_score(score)
            sample.set_field(inputs[i, :8], 'embedding')
            out.append(sample)
        return out


def _config(tmp_path):
    pipeline = [
        dict(type='SynthesizeFaceMesh'),  # swapped for LoadMeshFromFile
        dict(type='RenderMultiView', views=('front', 'left'), size=16,
             modalities=('depth', )),
        dict(type='PackMultiViewInputs'),
    ]
    cfg = Config(dict(
        default_scope='mmfer4d',
        model=dict(type='_StandInMultiViewClassifier', num_classes=2,
                   data_preprocessor=dict(type='MultiViewDataPreprocessor')),
        test_dataloader=dict(dataset=dict(type='X', pipeline=pipeline,
                                          classes=['calm', 'smile']))))
    path = str(tmp_path / 'cfg.py')
    cfg.dump(path)
    return path


def _mesh(tmp_path):
    sphere = trimesh.creation.icosphere(subdivisions=2, radius=60.0)
    path = str(tmp_path / 'face.obj')
    sphere.export(path)
    return path


def test_classifies_and_survives_a_broken_file(tmp_path):
    config = _config(tmp_path)
    good = _mesh(tmp_path)
    broken = tmp_path / 'broken.wrl'
    broken.write_text('#VRML V2.0 utf8\nShape { geometry IndexedFaceSet {')
    inferencer = FERInferencer(config)
    results = inferencer([good, str(broken), good], return_embeddings=True,
                         show_dir=str(tmp_path / 'vis'))
    assert [r['error'] is None for r in results] == [True, False, True]
    assert 'broken.wrl' in results[1]['error']
    assert results[0]['pred_class'] in ('calm', 'smile')
    assert sum(results[0]['pred_score']) == pytest.approx(1.0, abs=1e-5)
    assert results[0]['pred_score'] == pytest.approx(results[2]['pred_score'])
    assert len(results[0]['embedding']) == 8
    assert osp.isfile(results[0]['show_file'])


def test_infer_tool(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location(
        '_tool_infer',
        osp.join(osp.dirname(__file__), '..', '..', 'tools', 'infer.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    config = _config(tmp_path)
    good = _mesh(tmp_path)
    assert tool.main([good, str(tmp_path / 'missing.obj'), '--config',
                      config]) == 1
    out = capsys.readouterr().out
    assert '| ERROR |' in out and 'face.obj' in out
    assert np.any([c in out for c in ('calm', 'smile')])
