# Copyright (c) mmfer4d contributors. All rights reserved.
"""Tests of tools/dataset_converters/{ict_facekit_to_npz,export_synthetic}."""
import importlib.util
import json
import os.path as osp
import re

import numpy as np
import pytest

ROOT = osp.join(osp.dirname(__file__), '..', '..')


@pytest.fixture(scope='module')
def face_model():
    """The packed ICT-FaceKit model; the tests skip where it is absent."""
    from mmfer4d.synthesis import load_face_model
    try:
        return load_face_model()
    except FileNotFoundError as err:
        pytest.skip(f'ICT-FaceKit npz not available: {err}')


def _tool(name):
    path = osp.join(ROOT, 'tools', 'dataset_converters', name + '.py')
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _write_obj(path, verts, quads, uvs=True):
    lines = [f'v {x} {y} {z}' for x, y, z in verts]
    if uvs:
        lines += [f'vt {x / 4:.4f} {y / 4:.4f}' for x, y, _ in verts]
    for q in quads:
        if uvs:
            lines.append('f ' + ' '.join(f'{i + 1}/{i + 1}' for i in q))
        else:
            lines.append('f ' + ' '.join(str(i + 1) for i in q))
    path.write_text('\n'.join(lines) + '\n')


def _tiny_facekit(tmp_path):
    """FaceXModel with 6 vertices: 4 in the 'face area' (one quad) and 2
    beyond it (a second quad sharing an edge), 2 blendshapes, 3 identities.
    Units cm."""
    model = tmp_path / 'ICT-FaceKit' / 'FaceXModel'
    model.mkdir(parents=True)
    neutral = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0],
                        [2, 0, 0], [2, 1, 0]], float)
    quads = [(0, 1, 2, 3), (1, 4, 5, 2)]
    _write_obj(model / 'generic_neutral_mesh.obj', neutral, quads)
    names = ['jawOpen', 'mouthSmile_L']
    for k, n in enumerate(names):
        v = neutral.copy()
        v[k, 1] += 0.5  # 5 mm
        _write_obj(model / f'{n}.obj', v, quads, uvs=False)
    for k in range(3):
        v = neutral.copy()
        v[:, 2] += 0.1 * (k + 1)
        _write_obj(model / f'identity{k:03d}.obj', v, quads, uvs=False)
    (model / 'vertex_indices.json').write_text(json.dumps(
        dict(expressions=names, idx_to_landmark_verts=[k % 4
                                                       for k in range(68)])))
    return model.parent


def test_ict_facekit_to_npz(tmp_path):
    conv = _tool('ict_facekit_to_npz')
    root = _tiny_facekit(tmp_path)
    out = tmp_path / 'out' / 'model.npz'
    conv.main([str(root), '--out', str(out), '--num-vertices', '4'])
    data = np.load(out)
    assert sorted(data.files) == sorted(
        ['vertices', 'faces', 'uv', 'identity_basis', 'expression_basis',
         'expression_names', 'landmarks68', 'source'])
    np.testing.assert_allclose(data['vertices'][2], [10, 10, 0])  # cm->mm
    # Only the quad inside the face area, fan-split.
    np.testing.assert_array_equal(data['faces'], [[0, 1, 2], [0, 2, 3]])
    assert data['faces'].dtype == np.int32
    assert data['identity_basis'].dtype == np.float16
    assert data['identity_basis'].shape == (3, 4, 3)
    np.testing.assert_allclose(data['identity_basis'][2, :, 2], 3.0)
    assert list(data['expression_names']) == ['jawOpen', 'mouthSmile_L']
    np.testing.assert_allclose(data['expression_basis'][1, 1], [0, 5, 0])
    np.testing.assert_allclose(data['uv'][2], [0.25, 0.25])
    assert data['landmarks68'].shape == (68, )
    assert 'ICT-FaceKit' in str(data['source'])
    # The loader reads what the converter writes.
    from mmfer4d.synthesis import load_face_model
    model = load_face_model(str(out))
    assert model.num_identity == 3 and model.num_vertices == 4


def test_converter_default_rebuilds_the_shipped_model():
    from mmfer4d.synthesis import PACKAGED_FACE_MODEL
    conv = _tool('ict_facekit_to_npz')
    assert conv.parse_args(['root']).out == PACKAGED_FACE_MODEL


def test_converter_errors(tmp_path):
    conv = _tool('ict_facekit_to_npz')
    with pytest.raises(FileNotFoundError, match='ICT-FaceKit'):
        conv.convert(str(tmp_path), str(tmp_path / 'x.npz'))
    root = _tiny_facekit(tmp_path)
    (root / 'FaceXModel' / 'mouthSmile_L.obj').write_text('v 1 2\n')
    with pytest.raises(conv.ObjError, match=r'mouthSmile_L.obj.*line 1'):
        conv.convert(str(root), str(tmp_path / 'x.npz'), num_vertices=4)


def test_landmarks68_to_bu83():
    exp = _tool('export_synthetic')
    lm = np.random.default_rng(0).normal(size=(68, 3)) * 30
    out = exp.landmarks68_to_bu83(lm)
    assert out.shape == (83, 3)
    np.testing.assert_allclose(out[48:68], lm[48:68], atol=1e-4)  # mouth
    np.testing.assert_allclose(out[0], lm[36], atol=1e-4)  # eye start
    np.testing.assert_allclose(out[68], lm[0], atol=1e-4)  # contour ends
    np.testing.assert_allclose(out[82], lm[16], atol=1e-4)
    with pytest.raises(ValueError):
        exp.landmarks68_to_bu83(lm[:60])


def test_export_read_round_trip_3d(tmp_path, face_model):
    from mmfer4d.datasets import BU3DFEDataset, EXPRESSIONS_7
    from mmfer4d.datasets.io import load_mesh, read_bnd
    from mmfer4d.datasets import SyntheticFER3D
    from mmfer4d.synthesis import synthesize
    exp = _tool('export_synthetic')
    synth = SyntheticFER3D(classes=EXPRESSIONS_7, intensities=(4, ),
                           num_subjects=1)
    exp.export_scans(synth, str(tmp_path))
    files = BU3DFEDataset(data_root=str(tmp_path), classes=EXPRESSIONS_7,
                          intensities=(4, ))
    assert len(files) == len(synth) == 7
    key = lambda d: (d['subject'], d['expression'], d['intensity'])  # noqa
    assert sorted(map(key, files.data_list)) == sorted(
        map(key, synth.data_list))
    info = [d for d in files.data_list if d['expression'] == 'happiness'][0]
    # The scanners' nested layout, not a bare top-level Shape.
    text = open(info['mesh_path']).read()
    assert re.search(r'^DEF \w+ Transform \{\s*children \[\s*Shape \{',
                     text, re.M), text[:300]
    assert 'Viewpoint' in text.split('IndexedFaceSet')[1]
    mesh = load_mesh(info['mesh_path'], info.get('landmark_path'))
    ref = synthesize([
        d for d in synth.data_list if d['expression'] == 'happiness'
    ][0]['synth_params'], face_model)
    np.testing.assert_allclose(mesh.vertices, ref.vertices, atol=1e-4)
    assert mesh.num_faces == ref.num_faces
    assert mesh.texture is not None and mesh.texture.shape == ref.texture.shape
    assert read_bnd(info['landmark_path']).shape == (83, 3)


def test_export_read_round_trip_4d(tmp_path, face_model):
    from mmfer4d.datasets import BU4DFEDataset
    from mmfer4d.datasets.io import load_mesh
    from mmfer4d.datasets import SyntheticFER4D
    exp = _tool('export_synthetic')
    synth = SyntheticFER4D(classes=('happiness', ), num_subjects=1,
                           num_frames=8)
    out, bnd = str(tmp_path / 'bu4dfe'), str(tmp_path / 'bnd')
    exp.export_sequences(synth, out, bnd)
    assert osp.isfile(osp.join(out, 'F001', 'Happy', '007.wrl'))
    assert osp.isfile(osp.join(bnd, 'F001', 'Happy', '000.bnd'))
    files = BU4DFEDataset(data_root=out)
    assert len(files) == 1
    d = files.data_list[0]
    assert d['expression'] == 'happiness' and d['num_frames'] == 8
    mesh = load_mesh(d['frame_paths'][0])
    assert mesh.num_vertices == face_model.num_vertices


def test_export_shows_progress(tmp_path, capsys):
    exp = _tool('export_synthetic')
    out = tmp_path / 'scans'
    assert exp.main(['SyntheticFER3D', '--out', str(out), '--num-subjects',
                     '1', '--limit', '2']) == 0
    text = capsys.readouterr().out
    # mmengine's ProgressBar: done/total, rate, elapsed time, ETA.
    assert '0/2' in text and '2/2' in text
    assert 'task/s' in text and 'elapsed' in text and 'ETA' in text
    assert text.rstrip().endswith(f'wrote 2 scans to {out}')
    assert len(list(out.glob('*/*.wrl'))) == 2
