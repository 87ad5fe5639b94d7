# Copyright (c) mmfer4d contributors. All rights reserved.
"""FERInferencer and tools/infer.py on real mesh files.

Most cases use a stand-in model (a linear classifier over the rendered
views) to test the inferencer's own logic; the loading, rendering and
packing transforms are the real ones. The last case runs the real tiny
SMILE-VLM config with a checkpoint of its random initialisation on a
synthetic face exported as VRML, through the API and ``tools/infer.py`` on
the command line.
"""
import importlib.util
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
import trimesh
from mmengine.config import Config
from mmengine.model import BaseModel
from mmpretrain.structures import DataSample

from mmfer4d.apis import FERInferencer
from mmfer4d.datasets.categories import EXPRESSIONS_6
from mmfer4d.registry import MODELS, TRANSFORMS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SMILE_VLM_CONFIG = osp.join(
    REPO, 'configs', 'smile_vlm',
    'smile-vlm_resnet18-w16_scratch_1xb32-20e_synthetic-fer3d-3view.py')

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


@pytest.fixture(scope='module')
def synthetic_face_wrl(tmp_path_factory):
    """One SyntheticFER3D scan written as a textured VRML file."""
    from mmfer4d.datasets import SyntheticFER3D
    from mmfer4d.datasets.io import write_vrml
    from mmfer4d.datasets.transforms import SynthesizeFaceMesh
    dataset = SyntheticFER3D(num_subjects=1, classes=['happiness'],
                             intensities=[4], pipeline=[])
    mesh = SynthesizeFaceMesh(texture_size=64)(
        dict(dataset.get_data_info(0)))['mesh']
    path = tmp_path_factory.mktemp('face') / 'F0000_HA04.wrl'
    write_vrml(path, mesh)
    return str(path)


@pytest.fixture(scope='module')
def smile_vlm_checkpoint(tmp_path_factory):
    """A checkpoint of the randomly initialised tiny SMILE-VLM."""
    from mmengine.registry import init_default_scope
    init_default_scope('mmfer4d')
    torch.manual_seed(0)
    cfg = Config.fromfile(SMILE_VLM_CONFIG)
    cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(cfg.model)
    path = tmp_path_factory.mktemp('ckpt') / 'smile_vlm_random.pth'
    state = model.state_dict()
    torch.save(dict(state_dict=state,
                    meta=dict(dataset_meta=dict(classes=EXPRESSIONS_6))),
               path)
    return str(path), state


def test_smile_vlm_classifies_an_exported_mesh(synthetic_face_wrl,
                                               smile_vlm_checkpoint,
                                               tmp_path):
    ckpt, state = smile_vlm_checkpoint
    inferencer = FERInferencer(SMILE_VLM_CONFIG, ckpt)
    # The checkpoint's weights, not another random initialisation.
    loaded = inferencer.model.state_dict()
    assert all(torch.equal(loaded[k].cpu(), v) for k, v in state.items())
    result, = inferencer([synthetic_face_wrl], return_embeddings=True)
    assert result['error'] is None
    assert result['pred_class'] == EXPRESSIONS_6[result['pred_label']]
    assert len(result['pred_score']) == len(EXPRESSIONS_6)
    assert sum(result['pred_score']) == pytest.approx(1.0, abs=1e-4)
    assert len(result['embedding']) > 0
    assert np.isfinite(result['embedding']).all()

    # The same prediction from the command line, with the rendered views.
    vis = tmp_path / 'vis'
    proc = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools', 'infer.py'), synthetic_face_wrl, '--config',
        SMILE_VLM_CONFIG, '--checkpoint', ckpt, '--show-dir',
        str(vis)
    ], capture_output=True, text=True, timeout=300, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert f'| {synthetic_face_wrl} | {result["pred_class"]} |' in \
        proc.stdout
    pngs = list(vis.glob('*.png'))
    assert len(pngs) == 1 and pngs[0].read_bytes()[:4] == b'\x89PNG'
