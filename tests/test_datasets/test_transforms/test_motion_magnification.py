# Copyright (c) mmfer4d contributors. All rights reserved.
import numpy as np
import pytest

from mmfer4d.datasets.transforms import MagnifyMeshMotion
from mmfer4d.structures.mesh import Mesh

# A unit square of two triangles: neighbours 0: {1, 2, 3}, 1: {0, 2},
# 2: {0, 1, 3}, 3: {0, 2}.
SQUARE = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], np.float32)
FACES = np.array([[0, 1, 2], [0, 2, 3]], np.int32)


def _seq(*vertex_sets, landmarks=None):
    return dict(meshes=[
        Mesh(vertices=np.asarray(v, np.float32), faces=FACES,
             landmarks=None if landmarks is None else landmarks[i])
        for i, v in enumerate(vertex_sets)
    ], sample_idx=7)


def test_displacement_is_multiplied_by_alpha():
    moved = SQUARE.copy()
    moved[1] += [0.1, 0.0, 0.2]
    lms = [SQUARE[:2].copy(), moved[:2].copy()]
    out = MagnifyMeshMotion(alpha=3.0, rigid_align=False)(
        _seq(SQUARE, moved, landmarks=lms))
    ref, mag = out['meshes']
    np.testing.assert_allclose(ref.vertices, SQUARE)
    expected = SQUARE.copy()
    expected[1] += [0.3, 0.0, 0.6]
    np.testing.assert_allclose(mag.vertices, expected, atol=1e-6)
    np.testing.assert_allclose(mag.landmarks, expected[:2], atol=1e-6)
    assert out['motion_magnification'] == 3.0


def test_rigid_motion_is_taken_out_not_magnified():
    """A frame that is only the reference turned and shifted comes out as
    the reference itself, whatever alpha."""
    a = np.deg2rad(5.0)
    rot = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0],
                    [0, 0, 1]])
    pts = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0.5]],
                   np.float32)
    turned = pts @ rot.T + [2.0, -1.0, 0.5]
    out = MagnifyMeshMotion(alpha=5.0)(_seq(pts, turned))
    np.testing.assert_allclose(out['meshes'][1].vertices, pts, atol=1e-5)
    # Without the rigid step the head's motion is magnified.
    raw = MagnifyMeshMotion(alpha=5.0, rigid_align=False)(_seq(pts, turned))
    assert np.abs(raw['meshes'][1].vertices - pts).max() > 1.0


def test_smoothing_averages_the_neighbours_displacement():
    moved = SQUARE.copy()
    moved[1, 0] += 1.0  # only vertex 1 moves, by 1 mm along x
    out = MagnifyMeshMotion(alpha=2.0, rigid_align=False, smooth_iters=1)(
        _seq(SQUARE, moved))
    disp = out['meshes'][1].vertices - SQUARE
    # One round: mean over the neighbours (self excluded), times alpha.
    np.testing.assert_allclose(disp[:, 0], [2 / 3, 0, 2 / 3, 0], atol=1e-6)
    np.testing.assert_allclose(disp[:, 1:], 0, atol=1e-6)


def test_errors_name_the_sample():
    with pytest.raises(ValueError, match='alpha'):
        MagnifyMeshMotion(alpha=0)
    with pytest.raises(ValueError, match='smooth_iters'):
        MagnifyMeshMotion(smooth_iters=-1)
    scan = dict(mesh=Mesh(vertices=SQUARE, faces=FACES), sample_idx=3)
    with pytest.raises(ValueError, match='sample 3 is a single scan'):
        MagnifyMeshMotion()(scan)
    other = Mesh(vertices=SQUARE[:3], faces=FACES[:1])
    seq = _seq(SQUARE)
    seq['meshes'].append(other)
    with pytest.raises(ValueError, match='sample 7 frame 1 has 3 vertices'):
        MagnifyMeshMotion()(seq)
    with pytest.raises(ValueError, match='reference=5'):
        MagnifyMeshMotion(reference=5)(_seq(SQUARE, SQUARE))
