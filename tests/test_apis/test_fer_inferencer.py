# Copyright (c) mmfer4d contributors. All rights reserved.
"""FERInferencer and tools/infer.py on real mesh files.

Most cases use a stand-in model (a linear classifier over the rendered
views) to test the inferencer's own logic; the loading, rendering and
packing transforms are the real ones. The last case runs the real tiny
SMILE-VLM config with a checkpoint of its random initialisation on a
synthetic face that the test writes as VRML97 text, through the API and
``tools/infer.py`` on the command line.
"""
import importlib.util
import json
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


def _config(tmp_path, sequence=False):
    """A stand-in model's config; a 4D one (with SampleFrames) if asked."""
    pipeline = [
        # Swapped for LoadMeshFromFile / LoadMeshSequence.
        dict(type='SynthesizeFaceSequence' if sequence else
             'SynthesizeFaceMesh'),
        dict(type='RenderMultiView', views=('front', 'left'), size=16,
             modalities=('depth', )),
        dict(type='PackMultiViewInputs'),
    ]
    if sequence:
        pipeline.insert(0, dict(type='SampleFrames', num_frames=2,
                                test_mode=True))
    cfg = Config(dict(
        default_scope='mmfer4d',
        model=dict(type='_StandInMultiViewClassifier', num_classes=2,
                   data_preprocessor=dict(type='MultiViewDataPreprocessor')),
        test_dataloader=dict(dataset=dict(type='X', pipeline=pipeline,
                                          classes=['calm', 'smile']))))
    path = str(tmp_path / ('cfg_seq.py' if sequence else 'cfg.py'))
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
    assert sum(results[0]['pred_scores']) == pytest.approx(1.0, abs=1e-5)
    assert results[0]['pred_scores'] == pytest.approx(
        results[2]['pred_scores'])
    assert len(results[0]['embedding']) == 8
    assert osp.isfile(results[0]['show_file'])


def test_zoo_shape_keys_batching_and_steps(tmp_path):
    """mmengine's BaseInferencer steps and mmpretrain's row keys."""
    from mmengine.infer import BaseInferencer
    from mmpretrain.structures import DataSample as Sample
    good = _mesh(tmp_path)
    inferencer = FERInferencer(_config(tmp_path))
    assert isinstance(inferencer, BaseInferencer)
    assert inferencer.visualize_kwargs == {'show_dir', 'show'}
    assert inferencer.postprocess_kwargs == {'return_embeddings'}
    one = inferencer(good)
    assert len(one) == 1 and set(one[0]) == {
        'input', 'pred_label', 'pred_score', 'pred_scores', 'pred_class',
        'error'
    }
    row = one[0]
    # pred_score is the top score, as in ImageClassificationInferencer.
    assert isinstance(row['pred_score'], float)
    assert row['pred_score'] == max(row['pred_scores'])
    assert row['pred_label'] == int(np.argmax(row['pred_scores']))
    assert row['pred_class'] == ['calm', 'smile'][row['pred_label']]
    # Batches give the same scores as single inputs.
    rows = inferencer([good, good, good], batch_size=2)
    for r in rows:
        assert r['pred_scores'] == pytest.approx(row['pred_scores'],
                                                 abs=1e-6)
    # The steps, called by hand, as BaseInferencer.__call__ does.
    chunks = list(inferencer.preprocess([good, 'missing.obj', good],
                                        batch_size=2))
    assert [len(c) for c in chunks] == [2, 1]
    assert chunks[0][1][1] is None and 'missing.obj' in chunks[0][1][2]
    preds = [p for c in chunks for p in inferencer.forward(c)]
    assert isinstance(preds[0]['sample'], Sample)
    vis = inferencer.visualize([good, 'missing.obj', good], preds,
                               show_dir=str(tmp_path / 'v'))
    assert vis[1] is None and osp.isfile(vis[0]['show_file'])
    rows = inferencer.postprocess(preds, vis)
    assert rows[1]['error'] and rows[1]['pred_score'] is None
    assert rows[0]['show_file'] == vis[0]['show_file']
    samples = inferencer([good, 'missing.obj'], return_datasamples=True)
    assert isinstance(samples[0], Sample) and samples[1] is None
    with pytest.raises(ValueError, match='show_dir'):
        inferencer(good, show=True)


def test_a_sequence_is_shown_by_the_frame_it_names(tmp_path):
    """The PNG of a sequence draws the middle sampled frame and its title
    and file name name that frame's file."""
    from mmfer4d.apis import shown_frame
    good = _mesh(tmp_path)
    frames = tmp_path / 'seq'
    frames.mkdir()
    # Different faces per frame, so that the drawn frame can be told.
    for n in range(5):
        trimesh.creation.icosphere(subdivisions=2,
                                   radius=40.0 + 10 * n).export(
                                       str(frames / f'f{n:03d}.obj'))
    paths = sorted(str(p) for p in frames.glob('*.obj'))
    seq = FERInferencer(_config(tmp_path, sequence=True))
    row, = seq([paths], show_dir=str(tmp_path / 'vis'))
    assert row['error'] is None
    # SampleFrames (test mode) picks the same frames every time.
    inds = [int(i) for i in seq._prepare(paths)['data_samples'].frame_inds]
    assert len(inds) == 2
    shown = paths[inds[1]]  # T = 2 sampled frames: position T // 2 = 1
    assert osp.basename(row['show_file']) == \
        '0000_' + osp.basename(shown)[:-4] + '.png'
    t, path, title = shown_frame(dict(input=paths), 2, inds)
    assert (t, path) == (1, shown)
    assert title == f'{osp.basename(shown)} (frame {inds[1] + 1} of 5)'
    # A scan is its own frame.
    assert shown_frame(dict(input=good), 1)[1:] == (good, 'face.obj')


def _bad_inputs(tmp_path, good):
    """The inputs that aborted a whole call before, one per kind."""
    d = tmp_path / 'bad'
    d.mkdir()
    (d / 'empty.obj').write_bytes(b'')
    (d / 'scan.xyz').write_text('1 2 3\n')
    (d / 'garbage.wrl').write_bytes(bytes(range(256)) * 8)
    text = open(good).read()
    (d / 'truncated.obj').write_text(text[:len(text) // 2 - 7])
    (d / 'nan.obj').write_text('v nan 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n')
    (d / 'huge.obj').write_text('v 1e300 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n')
    (d / 'no_faces.obj').write_text('v 0 0 0\nv 1 0 0\nv 0 1 0\n')
    (d / 'a_folder').mkdir()
    (d / 'no_frames').mkdir()
    (d / 'no_frames' / 'notes.txt').write_text('not a frame')
    return dict(
        missing=str(d / 'missing.obj'),
        directory=str(d / 'a_folder'),
        empty=str(d / 'empty.obj'),
        wrong_extension=str(d / 'scan.xyz'),
        garbage=str(d / 'garbage.wrl'),
        truncated=str(d / 'truncated.obj'),
        nan_coordinates=str(d / 'nan.obj'),
        huge_coordinates=str(d / 'huge.obj'),
        folder_without_frames=str(d / 'no_frames'),
        sequence_with_broken_frame=[good, str(d / 'garbage.wrl')],
        zero_faces=str(d / 'no_faces.obj'),
        not_a_path=3.5)


def test_every_bad_input_gets_its_row_and_the_others_go_on(tmp_path):
    good = _mesh(tmp_path)
    bad = _bad_inputs(tmp_path, good)
    scan = FERInferencer(_config(tmp_path))
    seq = FERInferencer(_config(tmp_path, sequence=True))
    for inferencer in (scan, seq):
        for batch_size in (1, 3):
            inputs = [good] if inferencer is scan else [[good, good]]
            inputs = inputs + list(bad.values()) + inputs
            rows = inferencer(inputs, batch_size=batch_size)
            assert len(rows) == len(inputs)
            assert rows[0]['error'] is None and rows[-1]['error'] is None
            assert rows[0]['pred_scores'] == pytest.approx(
                rows[-1]['pred_scores'])
            for (kind, item), row in zip(bad.items(), rows[1:-1]):
                assert row['error'], (kind, row)
                assert row['pred_label'] is None, kind
                if isinstance(item, str) and kind != 'directory':
                    assert osp.basename(item) in row['error'], (kind, row)
    # A bytes path is a path; a folder of frames is a sequence.
    row, = scan([good.encode()])
    assert row['error'] is None and row['input'] == good
    frames = tmp_path / 'seq'
    frames.mkdir()
    for n in (10, 2):
        trimesh.load(good).export(str(frames / f'{n}.obj'))
    row, = seq([str(frames)])
    assert row['error'] is None
    assert row['pred_scores'] == pytest.approx(seq([[good, good]])[0][
        'pred_scores'])
    assert 'not a sequence model' in scan([str(frames)])[0]['error']
    assert 'empty sequence' in seq([[]])[0]['error']


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

    rows_file = tmp_path / 'out' / 'rows.json'
    assert tool.main([good, str(tmp_path / 'missing.obj'), '--config',
                      config, '--out', str(rows_file)]) == 1
    written = json.loads(rows_file.read_text())
    assert written['classes'] == ['calm', 'smile']
    first, second = written['rows']
    assert first['input'] == good and first['error'] is None
    assert first['pred_class'] in ('calm', 'smile')
    assert len(first['pred_scores']) == 2
    assert first['pred_score'] == max(first['pred_scores'])
    assert second['pred_label'] is None
    assert 'missing.obj' in second['error']


@pytest.fixture(scope='module')
def synthetic_face_wrl(tmp_path_factory):
    """One SyntheticFER3D face written by this test as a VRML97 file.

    The text follows the VRML97 grammar (ISO/IEC 14772-1: a ``Shape`` with
    an ``IndexedFaceSet`` of ``coord Coordinate { point [...] }`` and a
    ``-1``-terminated ``coordIndex``), not the project's own writer.
    """
    from mmfer4d.datasets import SyntheticFER3D
    from mmfer4d.datasets.transforms import SynthesizeFaceMesh
    dataset = SyntheticFER3D(num_subjects=1, classes=['happiness'],
                             intensities=[4], pipeline=[])
    mesh = SynthesizeFaceMesh(texture_size=64)(
        dict(dataset.get_data_info(0)))['mesh']
    points = ',\n'.join(f'{x:.4f} {y:.4f} {z:.4f}'
                        for x, y, z in mesh.vertices)
    index = '\n'.join(f'{a} {b} {c} -1' for a, b, c in mesh.faces)
    path = tmp_path_factory.mktemp('face') / 'F0000_HA04.wrl'
    path.write_text(
        '#VRML V2.0 utf8\n# typed by test_fer_inferencer.py\n'
        'Shape {\n  geometry IndexedFaceSet {\n    coord Coordinate {\n'
        f'      point [\n{points}\n      ]\n    }}\n'
        f'    coordIndex [\n{index}\n    ]\n  }}\n}}\n')
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
    assert len(result['pred_scores']) == len(EXPRESSIONS_6)
    assert sum(result['pred_scores']) == pytest.approx(1.0, abs=1e-4)
    assert result['pred_score'] == max(result['pred_scores'])
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


def test_pictures_label_views_and_modalities(tmp_path):
    """``show_dir`` pictures: one column per view (named by its angle), one
    row per modality, from the metainfo the pipeline packed."""
    from mmfer4d.apis import draw_views
    from mmfer4d.apis.fer_inferencer import _view_meta
    good = _mesh(tmp_path)
    inferencer = FERInferencer(_config(tmp_path))
    chunk, = inferencer.preprocess([good])
    pred, = inferencer.forward(chunk)
    meta = _view_meta(pred)
    assert meta['modalities'] == ['depth']
    assert [n.split(' ')[0] for n in meta['view_names']] == ['front', 'left']
    row, = inferencer.postprocess([pred], [None])
    fig = draw_views(pred['data']['inputs'], row, None, **meta)
    assert len(fig.axes) == 2
    assert [ax.get_title() for ax in fig.axes] == meta['view_names']
    assert fig.axes[0].get_ylabel() == 'depth'
    assert fig._suptitle.get_text().startswith(
        f'face.obj: {row["pred_class"]} (')
    # Two modalities of a 4-channel stack: two rows.
    views = torch.zeros(2, 4, 8, 8, dtype=torch.uint8)
    fig = draw_views(views, row, None, ['depth', 'normal'], ['a', 'b'])
    assert [ax.get_ylabel() for ax in fig.axes] == ['depth', '', 'normal', '']
