# Copyright (c) mmfer4d contributors. All rights reserved.
import numpy as np
import pytest
import trimesh

from mmfer4d.rendering import MultiViewRenderer, point_visibility
from mmfer4d.rendering.mesh_batch import MeshBatch
from mmfer4d.structures.mesh import Mesh


def sphere(radius=50.0, subdivisions=4, landmarks=None):
    s = trimesh.creation.icosphere(subdivisions=subdivisions, radius=radius)
    return Mesh(vertices=s.vertices, faces=s.faces, landmarks=landmarks)


def cameras_of(renderer, mesh):
    return renderer.cameras(MeshBatch.from_meshes([mesh], False))


def test_orthographic_projection_by_hand():
    # 100 px over 2 * 50 mm: 1 px per mm, image centre (50, 50), camera
    # 100 mm from the centre.
    renderer = MultiViewRenderer(
        views=('front', 'left', (0, 0, 90)), size=100, extent_mm=50.0,
        modalities=('mask', ))
    cams = cameras_of(renderer, sphere())
    xy, depth = cams.project(np.array([[10.0, 20.0, 5.0], [10.0, 0, 0]]))
    assert xy.shape == (3, 2, 2) and depth.shape == (3, 2)
    # Front: x right, y down.
    np.testing.assert_allclose(xy[0], [[60, 30], [60, 50]], atol=1e-9)
    np.testing.assert_allclose(depth[0], [95, 100], atol=1e-9)
    # 'left' (yaw +45) looks from the +x side: camera right is
    # (cos 45, 0, -sin 45), its axis towards the camera (sin 45, 0, cos 45).
    c = np.cos(np.radians(45))
    np.testing.assert_allclose(xy[1, 1], [50 + 10 * c, 50], atol=1e-9)
    np.testing.assert_allclose(depth[1, 1], 100 - 10 * c, atol=1e-9)
    np.testing.assert_allclose(xy[1, 0], [50 + 10 * c - 5 * c, 30],
                               atol=1e-9)
    # Roll 90: the camera turned counter-clockwise, the face clockwise:
    # world +x (the image right at roll 0) points down, world +y right.
    np.testing.assert_allclose(xy[2, 1], [50, 60], atol=1e-9)
    np.testing.assert_allclose(xy[2, 0], [70, 60], atol=1e-9)


def test_perspective_projection_by_hand():
    # fov 90 over 100 px: focal length 50 px, camera 50 mm from the centre.
    renderer = MultiViewRenderer(
        views='front', size=(100, 120), ortho=False, fov=90.0,
        extent_mm=50.0, modalities=('mask', ), near_mm=1.0)
    cams = cameras_of(renderer, sphere(10.0))
    pts = np.array([[10.0, 20.0, 5.0], [0, 0, 49.5], [0, 0, 60.0]])
    xy, depth = cams.project(pts)
    # Principal point (60, 50): W / 2, H / 2.
    np.testing.assert_allclose(xy[0, 0], [60 + 50 * 10 / 45, 50 - 50 * 20 /
                                          45], atol=1e-9)
    np.testing.assert_allclose(depth[0], [45, 0.5, -10], atol=1e-9)
    # Nearer than the near plane or behind the camera: no pixel.
    assert np.isnan(xy[0, 1:]).all()


def test_projected_vertices_land_on_their_rendered_depth():
    # An ellipsoid off the centre the cameras orbit: no symmetry hides a
    # flipped axis.
    tm = trimesh.creation.icosphere(subdivisions=4, radius=50.0)
    tm.apply_scale([1.0, 0.7, 0.85])
    tm.apply_translation([9.0, -6.0, 4.0])
    mesh = Mesh(vertices=tm.vertices, faces=tm.faces)
    for kwargs in (dict(), dict(ortho=False, fov=50.0)):
        renderer = MultiViewRenderer(
            views=('front', 'left', (130, -40, 20), 'down'), size=96,
            extent_mm=80.0, modalities=('mask', ), **kwargs)
        res = renderer.render(mesh, return_depth=True,
                              return_face_index=True)
        cams = cameras_of(renderer, mesh)
        xy, depth = cams.project(mesh.vertices)
        vis = point_visibility(xy, depth, res.depth)
        # A convex body hides what faces away from the camera: vertices
        # whose outward normal points to the camera are visible, those
        # pointing away are not.
        normal = np.asarray(tm.vertex_normals)
        for v in range(4):
            if kwargs:  # perspective: towards the camera centre
                eye = cams.centers[0] + cams.distances[0] * \
                    cams.rotations[v][2]
                to_cam = eye - mesh.vertices
                to_cam /= np.linalg.norm(to_cam, axis=1, keepdims=True)
            else:
                to_cam = cams.rotations[v][2][None]
            facing = (normal * to_cam).sum(1)
            assert vis[v][facing > 0.2].all()
            assert not vis[v][facing < -0.2].any()
            # Visible vertices sit on a covered pixel whose rendered depth
            # is theirs, within the slope across half a pixel (1.7 mm).
            idx = np.flatnonzero(vis[v] & (facing > 0.5))
            col = np.floor(xy[v, idx, 0]).astype(int)
            row = np.floor(xy[v, idx, 1]).astype(int)
            assert (res.face_index[v, row, col] >= 0).all()
            err = np.abs(res.depth[v, row, col] - depth[v, idx])
            assert np.median(err) < 0.5 and err.max() < 2.5


def test_landmarks_in_the_render_output():
    # Landmarks: the pole facing the front camera, the far pole, one
    # point off to the side outside the image, one floating 40 mm in front
    # of the sphere (nothing hides it from the front; the sphere hides it
    # from behind).
    lms = np.array([[0, 0, 50.0], [0, 0, -50.0], [200.0, 0, 0],
                    [0, 30.0, 80.0]])
    mesh = sphere(landmarks=lms)
    renderer = MultiViewRenderer(
        views=('front', (180, 0, 0)), size=64, extent_mm=64.0,
        modalities=('depth', ))
    res = renderer.render(mesh)
    assert res.depth is None  # used for visibility, not returned
    assert res.landmarks_2d.shape == (2, 4, 2)
    assert res.landmarks_2d.dtype == np.float32
    np.testing.assert_allclose(res.landmarks_2d[:, :2], 32.0, atol=1e-4)
    np.testing.assert_array_equal(
        res.landmarks_visible,
        [[True, False, False, True], [False, True, False, False]])
    np.testing.assert_allclose(res.landmarks_2d[0, 3], [32, 32 - 15],
                               atol=1e-4)
    # Without landmarks (or with them turned off): no landmark outputs.
    assert renderer.render(sphere()).landmarks_2d is None
    off = MultiViewRenderer(size=16, extent_mm=64.0, modalities=('mask', ),
                            project_landmarks=False)
    assert off.render(mesh).landmarks_visible is None


def test_occluded_landmarks():
    # Two parallel squares 20 mm apart: the front one hides the back one's
    # centre from the front camera, and the back one's centre is seen from
    # behind.
    quad = np.array([[-40, -40], [40, -40], [40, 40], [-40, 40]], float)
    verts = np.concatenate([np.c_[quad, np.full(4, 10.0)],
                            np.c_[quad * 2, np.full(4, -10.0)]])
    faces = np.array([[0, 1, 2], [0, 2, 3], [4, 5, 6], [4, 6, 7]])
    lms = np.array([[0, 0, 10.0], [0, 0, -10.0], [70, 0, -10.0]])
    mesh = Mesh(verts, faces, landmarks=lms)
    res = MultiViewRenderer(
        views=('front', (180, 0, 0)), size=50, extent_mm=90.0,
        modalities=('mask', )).render(mesh)
    np.testing.assert_array_equal(res.landmarks_visible,
                                  [[True, False, True], [False, True, True]])


@pytest.mark.parametrize('tol,expected', [(2.0, False), (25.0, True)])
def test_visibility_tolerance(tol, expected):
    depth_map = np.zeros((1, 5, 5), np.float32)
    depth_map[0, 1:4, 1:4] = 100.0
    xy = np.array([[[2.5, 2.5]]])
    vis = point_visibility(xy, np.array([[120.0]]), depth_map, tol_mm=tol)
    assert vis[0, 0] == expected
    # Outside the image or NaN: never visible.
    far = point_visibility(np.array([[[5.0, 2.5], [np.nan, np.nan]]]),
                           np.array([[100.0, 100.0]]), depth_map, 50.0)
    assert not far.any()
