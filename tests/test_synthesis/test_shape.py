# Copyright (c) mmfer4d contributors. All rights reserved.
import subprocess
import sys

import numpy as np
import pytest

from mmfer4d.structures import rotation_matrix
from mmfer4d.synthesis import (BLENDSHAPE_NAMES, frame_params, skin_texture,
                               synthesize, synthesize_sequence)


def _params(**changes):
    rng = np.random.default_rng(0)
    params = dict(
        identity=rng.standard_normal(100).astype(np.float32),
        blendshapes=np.zeros(len(BLENDSHAPE_NAMES), np.float32),
        pose=np.zeros(3, np.float32),
        noise_std=0.0,
        noise_seed=1,
        texture_seed=7)
    params.update(changes)
    return params


def test_linear_model_and_outputs(face_model):
    m = face_model
    params = _params()
    mesh = synthesize(params, m).validate()
    expected = m.vertices + np.tensordot(params['identity'],
                                         m.identity_basis, 1)
    np.testing.assert_allclose(mesh.vertices, expected, atol=1e-3)
    assert mesh.faces is m.faces and mesh.face_uvs.shape == (
        m.faces.shape[0], 3, 2)
    assert mesh.texture.shape == (256, 256, 3)
    assert mesh.texture.dtype == np.uint8
    np.testing.assert_array_equal(mesh.landmarks,
                                  mesh.vertices[m.landmarks68])
    # Face-sized: about 15-20 cm wide, in mm.
    width = np.ptp(mesh.vertices[:, 0])
    assert 140 < width < 230


def test_pose_noise_and_blendshape(face_model):
    m = face_model
    base = synthesize(_params(), m, with_texture=False)
    assert base.texture is None and base.face_uvs is None
    jaw = np.zeros(len(BLENDSHAPE_NAMES), np.float32)
    jaw[BLENDSHAPE_NAMES.index('jawOpen')] = 0.5
    opened = synthesize(_params(blendshapes=jaw), m, with_texture=False)
    drop = base.landmarks[8, 1] - opened.landmarks[8, 1]
    assert 10 < drop < 25  # chin drop in mm at half jaw opening
    posed = synthesize(_params(pose=np.array([10, 0, 0])), m,
                       with_texture=False)
    np.testing.assert_allclose(
        posed.vertices, base.vertices @ rotation_matrix(10, 0, 0).T,
        atol=1e-3)
    noisy = synthesize(_params(noise_std=0.2), m, with_texture=False)
    diff = noisy.vertices - base.vertices
    assert diff.std() == pytest.approx(0.2, rel=0.05)
    again = synthesize(_params(noise_std=0.2), m, with_texture=False)
    np.testing.assert_array_equal(noisy.vertices, again.vertices)


def test_texture_deterministic_per_subject(face_model):
    a = skin_texture(3, face_model, size=64)
    b = skin_texture(3, face_model, size=64)
    c = skin_texture(4, face_model, size=64)
    assert a is b or np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert not a.flags.writeable


def test_sequence_frames(face_model):
    env = np.array([0, 0.5, 1, 0.5, 0], np.float32)
    shapes = np.zeros(len(BLENDSHAPE_NAMES), np.float32)
    shapes[BLENDSHAPE_NAMES.index('jawOpen')] = 0.6
    params = _params(blendshapes=shapes, envelope=env,
                     pose=np.zeros((5, 3), np.float32))
    meshes = synthesize_sequence(params, [0, 2, 4], face_model,
                                 with_texture=False)
    chin = [mesh.landmarks[8, 1] for mesh in meshes]
    assert chin[0] == pytest.approx(chin[2], abs=1e-4)
    assert chin[0] - chin[1] > 15
    assert frame_params(params, 3)['noise_seed'] == params['noise_seed'] + 3
    with pytest.raises(IndexError):
        frame_params(params, 5)


def test_same_vertices_in_another_process(face_model):
    from mmfer4d.datasets import SyntheticFER3D
    data = SyntheticFER3D(num_subjects=2, seed=3)
    mesh = synthesize(data.get_data_info(5)['synth_params'], face_model)
    code = ('import sys, numpy as np\n'
            'from mmfer4d.datasets import SyntheticFER3D\n'
            'from mmfer4d.synthesis import synthesize\n'
            'd = SyntheticFER3D(num_subjects=2, seed=3)\n'
            'm = synthesize(d.get_data_info(5)["synth_params"])\n'
            'sys.stdout.buffer.write(m.vertices.tobytes())\n')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         check=True, timeout=120)
    other = np.frombuffer(out.stdout, np.float32).reshape(-1, 3)
    np.testing.assert_array_equal(other, mesh.vertices)
