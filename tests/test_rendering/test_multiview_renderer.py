# Copyright (c) mmfer4d contributors. All rights reserved.
import numpy as np
import pytest
import trimesh
from trimesh.ray.ray_pyembree import RayMeshIntersector

from mmfer4d.rendering import (MODALITY_CHANNELS, MultiViewRenderer,
                               render_multiview, view_rotations)
from mmfer4d.structures.mesh import Mesh


def height_field(n=40, half=60.0, bump=True):
    """An open bumpy surface z = f(x, y) facing +z, in mm."""
    g = np.linspace(-half, half, n)
    x, y = np.meshgrid(g, g)
    z = 30 * np.exp(-(x**2 + y**2) / 2500.0)
    if bump:
        z = z + 4 * np.sin(x / 9.0) * np.cos(y / 11.0)
    verts = np.stack([x, y, z], -1).reshape(-1, 3)
    idx = np.arange(n * n).reshape(n, n)
    a, b = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel()
    c, d = idx[1:, :-1].ravel(), idx[1:, 1:].ravel()
    faces = np.concatenate([np.stack([a, b, d], 1), np.stack([a, d, c], 1)])
    return Mesh(vertices=verts, faces=faces)


def sphere(radius=50.0):
    s = trimesh.creation.icosphere(subdivisions=3, radius=radius)
    return Mesh(vertices=s.vertices, faces=s.faces)


def ray_cast(mesh, renderer, dist):
    """Depth (mm, 0 = miss) at every pixel centre by embree ray casting."""
    tm = trimesh.Trimesh(mesh.vertices.astype(np.float64), mesh.faces,
                         process=False)
    hit = RayMeshIntersector(tm)
    height, width = renderer.size
    scale = min(height, width) / 2.0 / renderer.extent_mm
    jj, ii = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    x = (jj - width / 2.0) / scale
    y = (height / 2.0 - ii) / scale
    out = []
    for rot in renderer.rotations:
        cam = np.stack([x, y, np.full_like(x, dist)], -1).reshape(-1, 3)
        origins = cam @ rot  # camera -> world (rot is orthonormal)
        dirs = np.tile(-rot[2], (len(origins), 1))
        loc, ray, _ = hit.intersects_location(origins, dirs,
                                              multiple_hits=False)
        depth = np.zeros(len(origins))
        depth[ray] = ((loc - origins[ray]) * dirs[ray]).sum(1)
        out.append(depth.reshape(height, width))
    return np.stack(out)


@pytest.mark.parametrize('make_mesh,views', [
    (height_field, ('front', (30, 10, 0), (-60, 0, 20), 'down')),
    (sphere, ('front', 'left', (120, -40, 0))),
])
def test_depth_and_coverage_match_ray_casting(make_mesh, views):
    mesh = make_mesh()
    dist = 150.0
    renderer = MultiViewRenderer(
        views=views,
        size=64,
        modalities=('mask', ),
        extent_mm=70.0,
        camera_distance_mm=dist)
    res = renderer.render(mesh, return_depth=True, return_face_index=True)
    ref = ray_cast(mesh, renderer, dist)
    ours, theirs = res.mask, ref > 0
    iou = (ours & theirs).sum() / (ours | theirs).sum()
    assert iou > 0.999
    both = ours & theirs
    assert both.sum() > 1000
    assert np.abs(res.depth[both] - ref[both]).mean() < 1e-3
    assert (res.depth[~ours] == 0).all()
    assert (res.images[..., 0][ours] == 255).all()
    assert (res.images[..., 0][~ours] == 0).all()


def test_shared_edges_are_watertight():
    # A flat grid whose vertices sit exactly on pixel centres: every centre
    # on a shared edge or vertex must be drawn exactly once, no holes.
    mesh = height_field(n=9, half=32.0, bump=False)
    mesh = mesh.copy(vertices=mesh.vertices * np.array([1, 1, 0], 'f4'))
    res = render_multiview(
        mesh, size=64, modalities=('mask', ), extent_mm=32.0 + 16 / 32,
        return_face_index=True)
    assert res.mask[0, 1:-1, 1:-1].all()


def test_normals_of_a_tilted_plane():
    # Plane z = x * tan(30 deg): its normal is (-sin 30, 0, cos 30).
    g = np.linspace(-40, 40, 5)
    x, y = np.meshgrid(g, g)
    verts = np.stack([x, y, x * np.tan(np.radians(30))], -1).reshape(-1, 3)
    idx = np.arange(25).reshape(5, 5)
    a, b = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel()
    c, d = idx[1:, :-1].ravel(), idx[1:, 1:].ravel()
    faces = np.concatenate([np.stack([a, b, d], 1), np.stack([a, d, c], 1)])
    plane = Mesh(vertices=verts, faces=faces)
    res = render_multiview(
        plane, views=('front', (-30, 0, 0), (0, 0, 90)), size=32,
        modalities=('normal', 'mask'), extent_mm=20.0)
    n = res.images[..., :3].astype(float) / 127.5 - 1.0
    fg = res.images[..., 3] > 0
    s, c = np.sin(np.radians(30)), np.cos(np.radians(30))
    expected = [(-s, 0, c), (0, 0, 1), (0, s, c)]  # roll 90 turns x into y
    for k, e in enumerate(expected):
        assert fg[k].all()
        np.testing.assert_allclose(n[k][fg[k]].mean(0), e, atol=0.01)
    # Two-sided: the back of the plane shows a normal facing the camera.
    back = render_multiview(
        plane, views=(180, 0, 0), size=32, modalities=('normal', ),
        extent_mm=20.0)
    nz = back.images[0, ..., 2].astype(float) / 127.5 - 1
    np.testing.assert_allclose(nz.mean(), c, atol=0.01)


def checker_quad(tex_size=8):
    verts = np.array([[-50, -50, 0], [50, -50, 0], [50, 50, 0], [-50, 50, 0]])
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    uv = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float32)
    tex = np.zeros((tex_size, tex_size, 3), np.uint8)
    odd = np.add.outer(np.arange(tex_size), np.arange(tex_size)) % 2
    tex[odd == 0] = 255
    tex[0, 0] = (255, 0, 0)  # top-left texel: red
    return Mesh(vertices=verts, faces=faces, face_uvs=uv[faces], texture=tex)


def test_texture_sampling():
    quad = checker_quad()
    res = render_multiview(
        quad, size=72, modalities=('rgb', ), extent_mm=50.0)
    img = res.images[0]
    # 72 px over 8 texels = 9 px per texel: pixel 9k + 4 samples the centre
    # of texel k (row 0 = top = v 1).
    centres = np.arange(8) * 9 + 4
    for ti in range(8):
        for tj in range(8):
            expected = quad.texture[ti, tj]
            np.testing.assert_array_equal(img[centres[ti], centres[tj]],
                                          expected)
    # Pixel 16 samples x = 16.5 / 9 - 0.5 = 1 + 1/3 texels: bilinear 2/3 of
    # texel (3, 1) (white) and 1/3 of texel (3, 2) (black).
    assert abs(int(img[31, 16, 1]) - 170) <= 1


def test_vertex_colors_and_grey_fallback():
    mesh = height_field(n=10)
    colors = np.tile(np.array([[10, 200, 30]], np.uint8), (100, 1))
    res = render_multiview(
        mesh.copy(vertex_colors=colors), size=32,
        modalities=('rgb', 'shading'), extent_mm=70.0, return_face_index=True)
    fg = res.mask[0]
    assert (res.images[0][fg][:, :3] == (10, 200, 30)).all()
    grey = render_multiview(
        mesh, size=32, modalities=('rgb', 'shading'), extent_mm=70.0)
    g = grey.images[0]
    assert (g[..., 0] == g[..., 3]).all() and (g[..., 1] == g[..., 3]).all()
    assert g[..., 3][fg].min() > 0


def test_depth_8bit_near_is_bright():
    mesh = sphere()
    res = render_multiview(
        mesh, size=33, modalities=('depth', 'mask'), extent_mm=60.0,
        return_depth=True)
    d8, mask = res.images[0, ..., 0], res.images[0, ..., 1] > 0
    assert d8[16, 16] == 255  # sphere pole = nearest
    assert d8[mask].min() >= 1 and (d8[~mask] == 0).all()
    order = np.argsort(res.depth[0][mask])
    assert (np.diff(d8[mask][order].astype(int)) <= 0).all()
    fixed = render_multiview(
        mesh, size=33, modalities=('depth', ), extent_mm=60.0,
        depth_range_mm=100.0)
    # z = +50 mm in a +-100 mm window: 1 + 254 * 150 / 200.
    assert abs(int(fixed.images[0, 16, 16, 0]) - 191) <= 1


def test_perspective_vs_orthographic():
    mesh = height_field(n=30)
    ortho = render_multiview(
        mesh, size=48, modalities=('mask', ), extent_mm=70.0,
        return_depth=True)
    persp = render_multiview(
        mesh, size=48, modalities=('mask', ), extent_mm=70.0, ortho=False,
        fov=40.0, return_depth=True)
    dist = 70.0 / np.tan(np.radians(20.0))
    # Same framing of the centre plane, but a nearer bump looks bigger:
    # the perspective silhouette differs, its centre depth is the distance
    # to the apex (z ~ 30 mm).
    assert persp.images.sum() != ortho.images.sum()
    c = persp.depth[0, 23:25, 23:25].mean()
    assert abs(c - (dist - 30.0)) < 1.0
    # Perspective depth = distance along the axis: also ray-cast-checked at
    # the centre pixel, where the ray is the axis.
    assert ortho.depth[0, 23:25, 23:25].mean() == pytest.approx(
        140.0 - 30.0, abs=1.0)


def test_view_subset_matches_full_render():
    mesh = sphere().copy(
        vertices=sphere().vertices * np.array([1.0, 0.7, 0.5], 'f4'))
    full = render_multiview(
        mesh, views=('front', 'left', 'right', 'up'), size=32,
        modalities=('depth', 'normal', 'shading'), extent_mm=60.0)
    sub = render_multiview(
        mesh, views=('right', 'front'), size=32,
        modalities=('depth', 'normal', 'shading'), extent_mm=60.0)
    np.testing.assert_array_equal(sub.images[0], full.images[2])
    np.testing.assert_array_equal(sub.images[1], full.images[0])
    assert full.images.shape == (4, 32, 32, 5)
    assert sum(MODALITY_CHANNELS[m] for m in full.modalities) == 5


def test_left_view_shows_subject_left():
    # Push out the subject's left side (+x) of a sphere: it comes nearer to
    # the 'left' camera (yaw +45) and not to the 'right' one (yaw -45).
    mesh = sphere()
    verts = mesh.vertices.copy()
    verts[verts[:, 0] > 30] *= 1.3
    mesh = mesh.copy(vertices=verts)
    res = render_multiview(
        mesh, views=('left', 'right'), size=48, modalities=('mask', ),
        extent_mm=80.0, return_depth=True)
    near_left = res.depth[0][res.mask[0]].min()
    near_right = res.depth[1][res.mask[1]].min()
    assert near_right - near_left > 10.0
    rot = view_rotations(np.array([[45.0, 0, 0]]))[0]
    assert rot[2] @ np.array([1.0, 0, 0]) > 0  # camera on the +x side


def test_auto_extent_and_bbox_center():
    mesh = sphere()
    moved = mesh.copy(vertices=mesh.vertices + np.array([500, 0, 0], 'f4'))
    res = render_multiview(
        moved, size=32, modalities=('mask', ), extent_mm='auto',
        center='bbox')
    m = res.images[0, ..., 0] > 0
    assert m[16, 16] and not m[0, 0] and m.mean() > 0.5


@pytest.mark.parametrize('kwargs,match', [
    (dict(views=('front', 'sideways')), 'unknown view'),
    (dict(modalities=('depth', 'albedo')), 'unknown modality'),
    (dict(modalities=()), 'at least one modality'),
    (dict(size=0), 'size'),
    (dict(extent_mm=-1), 'extent_mm'),
    (dict(extent_mm='fit'), 'extent_mm'),
    (dict(ortho=False, fov=180), 'fov'),
    (dict(views=[(1, 2, 3, 4)]), 'yaw, pitch, roll'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MultiViewRenderer(**kwargs)


def test_bad_meshes():
    renderer = MultiViewRenderer(size=8, modalities=('mask', ))
    empty = Mesh(vertices=np.zeros((0, 3)), faces=np.zeros((0, 3)),
                 metainfo=dict(path='/data/F0001.wrl'))
    with pytest.raises(ValueError, match='empty mesh.*F0001.wrl'):
        renderer.render(empty)
    bad = Mesh(vertices=np.zeros((3, 3)), faces=np.array([[0, 1, 5]]))
    with pytest.raises(ValueError, match='out of range'):
        renderer.render(bad)
    with pytest.raises(ValueError, match='Mesh'):
        renderer.render(np.zeros((3, 3)))
