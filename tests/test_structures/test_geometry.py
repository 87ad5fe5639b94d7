# Copyright (c) mmfer4d contributors. All rights reserved.
import numpy as np
import pytest

from mmfer4d.rendering import view_rotations
from mmfer4d.structures import (crop_mesh_sphere, estimate_nose_tip,
                                kabsch_rotation, rotation_matrix)


def _rx(deg):
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _ry(deg):
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _rz(deg):
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def test_signs_of_the_convention():
    # yaw > 0: the face (+z) turns to the subject's left (+x).
    np.testing.assert_allclose(rotation_matrix(90, 0, 0) @ [0, 0, 1],
                               [1, 0, 0], atol=1e-12)
    # pitch > 0: the face nods down (+z towards -y).
    np.testing.assert_allclose(rotation_matrix(0, 90, 0) @ [0, 0, 1],
                               [0, -1, 0], atol=1e-12)
    # roll > 0: the subject's left (+x) goes up (+y).
    np.testing.assert_allclose(rotation_matrix(0, 0, 90) @ [1, 0, 0],
                               [0, 1, 0], atol=1e-12)


def test_order_of_the_product():
    yaw, pitch, roll = 20.0, -35.0, 12.0
    rot = rotation_matrix(yaw, pitch, roll)
    # Yaw first, then pitch, then roll, about the fixed axes.
    np.testing.assert_allclose(rot, _rz(roll) @ _rx(pitch) @ _ry(yaw),
                               atol=1e-12)
    np.testing.assert_allclose(
        rotation_matrix(yaw, pitch, roll, order='zyx'),
        _rz(roll) @ _ry(yaw) @ _rx(pitch), atol=1e-12)
    np.testing.assert_allclose(
        rotation_matrix(yaw, pitch, roll, order='yxz'),
        _ry(yaw) @ _rx(pitch) @ _rz(roll), atol=1e-12)
    assert rot.dtype == np.float64
    np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(rot) == pytest.approx(1.0)
    for bad in ('xy', 'xxz', 'abc', None):
        with pytest.raises(ValueError, match='permutation'):
            rotation_matrix(1, 2, 3, order=bad)


def test_float32_angles_keep_their_precision():
    rot = rotation_matrix(np.float32(10), np.float32(0), np.float32(0))
    cos32 = np.cos(np.deg2rad(np.float32(10)))
    assert cos32.dtype == np.float32
    assert rot[0, 0] == float(cos32)
    assert rotation_matrix(10.0, 0, 0)[0, 0] == np.cos(np.deg2rad(10.0))


def test_cameras_follow_the_same_convention():
    # Moving the camera to (yaw, pitch, roll) shows what the head posed at
    # (-yaw, pitch, -roll) shows from the front.
    rng = np.random.default_rng(0)
    angles = rng.uniform(-80, 80, (20, 3))
    cams = view_rotations(angles)
    for (yaw, pitch, roll), cam in zip(angles, cams):
        np.testing.assert_allclose(
            cam, rotation_matrix(-yaw, pitch, -roll), atol=1e-12)


def test_kabsch_recovers_rotation():
    rng = np.random.RandomState(1)
    pts = rng.randn(10, 3) * 30
    rot = _rz(5.0) @ _ry(-20.0) @ _rx(10.0)
    moved = pts @ rot.T + np.array([3.0, 4.0, 5.0])
    np.testing.assert_allclose(kabsch_rotation(pts, moved), rot, atol=1e-9)
    # Never a reflection.
    mirrored = pts * np.array([-1.0, 1.0, 1.0])
    assert np.linalg.det(kabsch_rotation(pts, mirrored)) > 0
    with pytest.raises(ValueError, match='L >= 3'):
        kabsch_rotation(pts[:2], moved[:2])


def test_geometric_nose_tip_ignores_spike(grid_face):
    mesh, tip = grid_face()
    np.testing.assert_allclose(estimate_nose_tip(mesh), tip, atol=1e-4)


def test_nose_tip_from_landmarks(grid_face):
    mesh, _ = grid_face()
    lms = np.zeros((68, 3), np.float32)
    lms[30] = [1.0, 2.0, 3.0]
    mesh.landmarks = lms
    np.testing.assert_allclose(estimate_nose_tip(mesh), [1, 2, 3])
    lms5 = np.arange(15, dtype=np.float32).reshape(5, 3)
    mesh = mesh.copy(landmarks=lms5)
    np.testing.assert_allclose(estimate_nose_tip(mesh, nose_index=2), lms5[2])
    # Named landmark (Bosphorus .lm3 'Nose tip').
    mesh.metainfo['landmark_names'] = ['a', 'b', 'c', 'Nose tip', 'e']
    np.testing.assert_allclose(estimate_nose_tip(mesh), lms5[3])
    with pytest.raises(ValueError, match='nose_index=7'):
        estimate_nose_tip(mesh, nose_index=7)


def test_nose_tip_bu3dfe_region(grid_face):
    mesh, tip = grid_face()
    lms = np.zeros((83, 3), np.float32) + np.float32([10, -20, 30])
    lms[36:48, :2] += np.array([[-6, -6], [6, 6]] * 6, np.float32)
    mesh.landmarks = lms
    np.testing.assert_allclose(estimate_nose_tip(mesh), tip, atol=1e-4)
    with pytest.raises(ValueError, match='empty mesh'):
        estimate_nose_tip(mesh.copy(vertices=np.zeros((0, 3)),
                                    faces=np.zeros((0, 3), int),
                                    face_uvs=None, vertex_colors=None,
                                    landmarks=None))


def test_crop_removes_exactly_far_vertices(grid_face):
    mesh, tip = grid_face()
    radius = 30.0
    inside = np.linalg.norm(mesh.vertices - tip, axis=1) <= radius
    cropped = crop_mesh_sphere(mesh, tip, radius)
    np.testing.assert_array_equal(cropped.vertices, mesh.vertices[inside])
    np.testing.assert_array_equal(cropped.vertex_colors,
                                  mesh.vertex_colors[inside])
    face_keep = inside[mesh.faces].all(1)
    assert cropped.num_faces == face_keep.sum() > 0
    # Same triangles (as coordinates) and same UVs after reindexing.
    np.testing.assert_array_equal(cropped.vertices[cropped.faces],
                                  mesh.vertices[mesh.faces[face_keep]])
    np.testing.assert_array_equal(cropped.face_uvs, mesh.face_uvs[face_keep])
    cropped.validate()
    # A sphere holding everything keeps a copy.
    whole = crop_mesh_sphere(mesh, tip, 1e4)
    assert whole is not mesh and whole.num_vertices == mesh.num_vertices
