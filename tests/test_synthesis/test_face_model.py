# Copyright (c) mmfer4d contributors. All rights reserved.
import os.path as osp

import numpy as np
import pytest

import mmfer4d
from mmfer4d.synthesis import (FACE_MODEL_ENV, PACKAGED_FACE_MODEL,
                               boundary_loops, load_face_model,
                               resolve_face_model_path)


def _tiny_npz(path, close_mouth_shape=False):
    """A 4x4-vertex grid (20 mm spacing) with a one-quad hole, its 68
    "landmarks" all on one corner: no loop is near an eye or the mouth."""
    xs, ys = np.meshgrid(np.arange(4.0) * 20, np.arange(4.0) * 20)
    verts = np.stack([xs.ravel(), ys.ravel(), np.zeros(16)], 1)
    faces = []
    for r in range(3):
        for c in range(3):
            if (r, c) == (1, 1):
                continue  # the hole
            a = r * 4 + c
            faces += [(a, a + 1, a + 5), (a, a + 5, a + 4)]
    np.savez(
        path,
        vertices=verts.astype(np.float32),
        faces=np.asarray(faces, np.int32),
        uv=verts[:, :2].astype(np.float32) / 60,
        identity_basis=np.ones((2, 16, 3), np.float16),
        expression_basis=np.zeros((1, 16, 3), np.float16),
        expression_names=np.asarray(['jawOpen']),
        landmarks68=np.zeros(68, np.int32),
        source=np.asarray('test'))


def test_boundary_loops_of_grid_with_hole():
    xs, ys = np.meshgrid(np.arange(4), np.arange(4))
    faces = []
    for r in range(3):
        for c in range(3):
            if (r, c) == (1, 1):
                continue
            a = r * 4 + c
            faces += [(a, a + 1, a + 5), (a, a + 5, a + 4)]
    loops = boundary_loops(np.asarray(faces))
    assert [len(lp) for lp in loops] == [12, 4]
    assert set(loops[1].tolist()) == {5, 6, 9, 10}
    assert boundary_loops(np.zeros((0, 3), int)) == []


def test_path_resolution_order(tmp_path, monkeypatch):
    explicit = tmp_path / 'a.npz'
    env = tmp_path / 'b.npz'
    _tiny_npz(explicit)
    _tiny_npz(env)
    monkeypatch.delenv(FACE_MODEL_ENV, raising=False)
    assert resolve_face_model_path() == PACKAGED_FACE_MODEL
    monkeypatch.setenv(FACE_MODEL_ENV, '')  # empty counts as unset
    assert resolve_face_model_path() == PACKAGED_FACE_MODEL
    monkeypatch.setenv(FACE_MODEL_ENV, str(env))
    assert resolve_face_model_path() == str(env)
    assert resolve_face_model_path(str(explicit)) == str(explicit)


def test_shipped_model_is_package_data(monkeypatch):
    monkeypatch.delenv(FACE_MODEL_ENV, raising=False)
    package = osp.dirname(osp.abspath(mmfer4d.__file__))
    assert PACKAGED_FACE_MODEL == osp.join(package, 'synthesis', 'data',
                                           'ict_facekit',
                                           'ict_face_model.npz')
    folder = osp.dirname(PACKAGED_FACE_MODEL)
    # MIT: the licence and the attribution travel with the file.
    with open(osp.join(folder, 'LICENSE'), encoding='utf-8') as f:
        text = f.read()
    assert 'MIT License' in text and 'Institute for Creative' in text
    with open(osp.join(folder, 'README.md'), encoding='utf-8') as f:
        assert 'ICT-FaceKit' in f.read()
    model = load_face_model()
    assert model.path == PACKAGED_FACE_MODEL
    assert model.num_model_vertices == 9409 and model.num_identity == 100


def test_missing_override_is_an_error_not_a_fallback(tmp_path, monkeypatch):
    missing = str(tmp_path / 'nope.npz')
    monkeypatch.delenv(FACE_MODEL_ENV, raising=False)
    with pytest.raises(FileNotFoundError) as err:
        resolve_face_model_path(missing)
    msg = str(err.value)
    assert missing in msg and 'face_model=' in msg
    assert 'ict_facekit_to_npz.py' in msg and 'ICT-FaceKit' in msg
    with pytest.raises(FileNotFoundError, match='nope.npz'):
        load_face_model(missing)
    monkeypatch.setenv(FACE_MODEL_ENV, missing)
    with pytest.raises(FileNotFoundError) as err:
        load_face_model()
    assert missing in str(err.value) and FACE_MODEL_ENV in str(err.value)


def test_bad_npz_names_file(tmp_path):
    path = tmp_path / 'bad.npz'
    np.savez(path, vertices=np.zeros((3, 3), np.float32))
    with pytest.raises(ValueError, match='bad.npz: missing keys'):
        load_face_model(str(path))


def test_tiny_model_loads_float32_and_is_cached(tmp_path):
    path = str(tmp_path / 'tiny.npz')
    _tiny_npz(path)
    model = load_face_model(path)
    assert model.basis.dtype == np.float32
    assert model.identity_basis.shape == (2, 16, 3)
    # No landmarks near the hole: nothing is filled on a non-face mesh.
    assert model.hole_centres == {}
    assert load_face_model(path) is model


def test_real_model_eyes_and_mouth_closed(face_model):
    m = face_model
    n0 = m.num_model_vertices
    assert set(m.hole_centres) == {'eye_left', 'eye_right', 'mouth'}
    # Only the outer boundary remains.
    loops = boundary_loops(m.faces)
    assert len(loops) == 1 and len(loops[0]) > 100
    opened = load_face_model(close_eyes=False, close_mouth=False)
    assert len(boundary_loops(opened.faces)) == 4
    assert opened.num_vertices == n0
    # Centres sit in the openings: left eye at +x, mouth behind the lips.
    lm = m.vertices[m.landmarks68]
    left = m.vertices[m.hole_centres['eye_left']]
    right = m.vertices[m.hole_centres['eye_right']]
    assert np.linalg.norm(left - lm[42:48].mean(0)) < 5
    assert np.linalg.norm(right - lm[36:42].mean(0)) < 5
    mouth = m.vertices[m.hole_centres['mouth']]
    assert mouth[2] < lm[60:68, 2].min() - 5
    # A centre's basis is its loop's mean, so blinks move it.
    blink = m.expression_index('eyeBlink_L')
    loop = m.hole_loops['eye_left']
    np.testing.assert_allclose(
        m.expression_basis[blink, m.hole_centres['eye_left']],
        m.expression_basis[blink, loop].mean(0), atol=1e-5)
    assert m.expression_basis[blink, m.hole_centres['eye_left'], 1] < -1.0
    # Fan triangles keep the surface orientation (each interior edge is
    # used once in each direction).
    e = np.concatenate([m.faces[:, [0, 1]], m.faces[:, [1, 2]],
                        m.faces[:, [2, 0]]])
    assert len({tuple(x) for x in e.tolist()}) == len(e)
