# Copyright (c) mmfer4d contributors. All rights reserved.
"""The ``torch`` backend against the ``numba`` reference, on CPU.

Tolerances (the issue's targets, and what a one-step 8-bit difference
allows): over the pixels both backends cover, mean depth error < 0.05 mm;
coverage IoU >= 0.995; normals decoded from the 8-bit channels differ by a
mean angle < 0.5 degree (one 8-bit step is about 0.45 degree) and at most 2
degrees; 8-bit channels (depth, shading, rgb) differ by at most one step,
on at most 0.1 % of the values. The backends in fact agree on every
covered pixel and triangle id here; the one-step differences come from
numba's fused multiply-adds in shading.
"""
import numpy as np
import pytest
import torch
from PIL import Image

from mmfer4d.datasets import SyntheticFER3D
from mmfer4d.datasets.io import load_mesh
from mmfer4d.rendering import (MultiViewRenderer, TorchRenderBackend,
                               build_render_backend, channel_offsets)
from mmfer4d.structures.mesh import Mesh

ALL = ('depth', 'normal', 'rgb', 'shading', 'mask')
VIEWS = ('front', 'left', 'right', 'up', (30.0, -20.0, 10.0))
SETUPS = {
    'ortho': dict(size=64),
    'perspective': dict(size=(48, 72), ortho=False, fov=35.0),
    'auto_bbox_window': dict(size=56, extent_mm='auto', center='bbox',
                             depth_range_mm=60.0),
}


@pytest.fixture(scope='module')
def ict_faces():
    """Three normalised synthetic ICT faces: textured, vertex-coloured and
    grey (no colour)."""
    ds = SyntheticFER3D(
        num_subjects=2, split='test', fold=0, num_folds=2,
        pipeline=[dict(type='SynthesizeFaceMesh'), dict(type='NormalizeFace')])
    textured = ds[0]['mesh']
    assert textured.texture is not None and textured.face_uvs is not None
    rng = np.random.default_rng(0)
    vcol = ds[3]['mesh']
    vcol = vcol.copy(texture=None, face_uvs=None,
                     vertex_colors=rng.integers(0, 256, (vcol.num_vertices, 3),
                                                dtype=np.uint8))
    grey = ds[5]['mesh'].copy(texture=None, face_uvs=None)
    return [textured, vcol, grey]


def _grid_scan_vrml(n=41):
    """A dense face-like height field in the BU-3DFE exporter's nested
    VRML97 layout (``DEF ... Transform { children [ Shape { ... } ] }``,
    textured, quads as ``a, b, c, d, -1,``, trailing Viewpoint), typed out
    from ISO/IEC 14772-1's grammar, not by the project's writer."""
    g = np.linspace(-70.0, 70.0, n)
    pts, uvs, quads = [], [], []
    for i, y in enumerate(g):
        for j, x in enumerate(g):
            z = 50.0 * np.exp(-(x * x + y * y) / 2500.0) + \
                8.0 * np.exp(-((x) ** 2 + (y - 5) ** 2) / 60.0)
            pts.append(f'      {x:.4f} {y:.4f} {z:.4f},')
            uvs.append(f'      {j / (n - 1):.5f} {i / (n - 1):.5f},')
    for i in range(n - 1):
        for j in range(n - 1):
            a = i * n + j
            quads.append(f'      {a}, {a + 1}, {a + n + 1}, {a + n}, -1,')
    coord = '\n'.join(pts)
    index = '\n'.join(quads)
    tex = '\n'.join(uvs)
    return f"""#VRML V2.0 utf8
# hand-typed fixture in the scanner exporter's layout
DEF F0001_HA04WH_F3D Transform {{
  children [
    Shape {{
      appearance Appearance {{
        material Material {{ diffuseColor 0.8 0.8 0.8 }}
        texture ImageTexture {{ url "F0001_HA04WH_F3D.bmp" }}
      }}
      geometry IndexedFaceSet {{
        creaseAngle 1.5
        solid FALSE
        coord Coordinate {{
          point [
{coord}
          ]
        }}
        coordIndex [
{index}
        ]
        texCoord TextureCoordinate {{
          point [
{tex}
          ]
        }}
        texCoordIndex [
{index}
        ]
      }}
    }}
  ]
}}
DEF Viewpoint1 Viewpoint {{
  position 0 0 500
  description "Front"
}}
"""


@pytest.fixture(scope='module')
def scan(tmp_path_factory):
    root = tmp_path_factory.mktemp('bu3dfe') / 'F0001'
    root.mkdir()
    path = root / 'F0001_HA04WH_F3D.wrl'
    path.write_text(_grid_scan_vrml())
    rng = np.random.default_rng(3)
    Image.fromarray(rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)).save(
        root / 'F0001_HA04WH_F3D.bmp')
    mesh = load_mesh(str(path))
    assert mesh.texture is not None and mesh.texture.shape == (37, 53, 3)
    return mesh


def _decode_normals(images, offset):
    n = images[..., offset:offset + 3].astype(np.float64) / 127.5 - 1.0
    return n / np.linalg.norm(n, axis=-1, keepdims=True)


def check_parity(ref, out, modalities):
    """The tolerances of the module docstring; returns the measured
    errors."""
    mask_a, mask_b = ref.face_index >= 0, out.face_index >= 0
    both = mask_a & mask_b
    iou = both.sum() / (mask_a | mask_b).sum()
    assert iou >= 0.995, iou
    depth_err = np.abs(ref.depth - out.depth)[both].mean()
    assert depth_err < 0.05, depth_err
    np.testing.assert_array_equal(ref.depth[~mask_a], 0)
    np.testing.assert_array_equal(out.depth[~mask_b], 0)
    offsets = channel_offsets(modalities)
    ia, ib = ref.images.astype(int), out.images.astype(int)
    # Background is 0 in every channel.
    assert not ib[~mask_b].any()
    errs = dict(iou=iou, depth_mm=depth_err)
    if 'normal' in offsets:
        na = _decode_normals(ref.images, offsets['normal'])[both]
        nb = _decode_normals(out.images, offsets['normal'])[both]
        angle = np.degrees(np.arccos(np.clip((na * nb).sum(-1), -1, 1)))
        assert angle.mean() < 0.5 and angle.max() < 2.0, (angle.mean(),
                                                          angle.max())
        errs['normal_deg'] = angle.mean()
    for name in ('depth', 'shading', 'rgb', 'mask'):
        if name not in offsets:
            continue
        k = offsets[name]
        width = 3 if name == 'rgb' else 1
        diff = np.abs(ia[..., k:k + width] - ib[..., k:k + width])[both]
        assert diff.max() <= 1 and (diff > 0).mean() <= 1e-3, \
            (name, diff.max())
        errs[name] = diff.mean()
    return errs


@pytest.mark.parametrize('setup', sorted(SETUPS))
def test_ict_faces_match_numba(ict_faces, setup):
    kwargs = dict(views=VIEWS, modalities=ALL, **SETUPS[setup])
    ref = MultiViewRenderer(**kwargs).render_batch(
        ict_faces, return_depth=True, return_face_index=True)
    out = MultiViewRenderer(backend='torch', **kwargs).render_batch(
        ict_faces, return_depth=True, return_face_index=True)
    assert out.images.shape == ref.images.shape and \
        out.images.dtype == np.uint8
    check_parity(ref, out, ALL)
    np.testing.assert_allclose(out.coverage, ref.coverage, atol=0.005)
    # The textured, vertex-coloured and grey faces have different colours.
    rgb = channel_offsets(ALL)['rgb']
    assert len({int(out.images[b, 0, ..., rgb].sum()) for b in range(3)}) \
        == 3
    for b in range(3):
        np.testing.assert_array_equal(out.landmarks_visible[b],
                                      ref.landmarks_visible[b])


@pytest.mark.parametrize('setup', ['ortho', 'perspective'])
def test_textured_scan_in_the_bu3dfe_layout_matches_numba(scan, setup):
    kwargs = dict(views=VIEWS, modalities=ALL, extent_mm=90.0,
                  **SETUPS[setup])
    ref = MultiViewRenderer(**kwargs).render(
        scan, return_depth=True, return_face_index=True)
    out = MultiViewRenderer(backend='torch', **kwargs).render(
        scan, return_depth=True, return_face_index=True)
    errs = check_parity(ref, out, ALL)
    assert errs['iou'] > 0.999
    # The texture is sampled: rgb varies over the face.
    rgb = out.images[..., 2:5][out.face_index >= 0]
    assert rgb.std() > 30


def test_chunking_and_groups_change_nothing(ict_faces):
    """Tiny groups and chunks (a triangle's box split across candidate
    chunks, meshes across groups) give the render of the defaults."""
    kwargs = dict(views=VIEWS[:3], size=40, modalities=ALL)
    default = MultiViewRenderer(backend='torch', **kwargs).render_batch(
        ict_faces, return_depth=True, return_face_index=True)
    tiny = MultiViewRenderer(
        backend='torch',
        backend_args=dict(max_group_pixels=1, max_triangles=777,
                          max_candidates=1000),
        **kwargs).render_batch(ict_faces, return_depth=True,
                               return_face_index=True)
    for name in ('images', 'depth', 'face_index', 'coverage'):
        np.testing.assert_array_equal(getattr(tiny, name),
                                      getattr(default, name))


def test_big_triangles_and_occlusion():
    """Two squares of two triangles each fill most of the image, the
    nearer one (z = 10 mm) hiding the other: hand-checked pixels."""
    quad = np.array([[-40, -40, 0], [40, -40, 0], [40, 40, 0], [-40, 40, 0]],
                    np.float64)
    verts = np.concatenate([quad, quad * [0.5, 0.5, 1] + [0, 0, 10]])
    faces = np.array([[0, 1, 2], [0, 2, 3], [4, 5, 6], [4, 6, 7]])
    mesh = Mesh(vertices=verts, faces=faces)
    renderer = MultiViewRenderer(
        views='front', size=32, modalities=('depth', 'mask'),
        extent_mm=50.0, backend='torch',
        backend_args=dict(max_candidates=100))
    out = renderer.render(mesh, return_depth=True, return_face_index=True)
    # 16 px / 50 mm = 0.32 px per mm: the near square (+-20 mm) spans
    # columns 10-21, column 4 (x = -35.9 mm) sees the far one only. The
    # camera is at 2 * extent = 100 mm: depth 90 mm on the near square, 100
    # on the far one.
    assert out.depth[0, 16, 16] == pytest.approx(90.0)
    assert out.depth[0, 16, 4] == pytest.approx(100.0)
    assert out.face_index[0, 16, 16] in (2, 3)
    assert out.face_index[0, 16, 4] in (0, 1)
    assert out.images[0, 0, 0, 1] == 0 and out.images[0, 16, 16, 1] == 255
    # Near = bright: 255 on the near square, 1 on the far one.
    assert out.images[0, 16, 16, 0] == 255 and out.images[0, 16, 4, 0] == 1
    ref = MultiViewRenderer(
        views='front', size=32, modalities=('depth', 'mask'),
        extent_mm=50.0).render(mesh, return_depth=True,
                               return_face_index=True)
    np.testing.assert_array_equal(out.face_index, ref.face_index)
    np.testing.assert_array_equal(out.images, ref.images)


def test_tensors_options_and_registry(ict_faces):
    backend = build_render_backend('torch', device='cpu',
                                   return_tensors=True)
    assert isinstance(backend, TorchRenderBackend)
    assert backend.device == torch.device('cpu')
    renderer = MultiViewRenderer(
        views=VIEWS[:2], size=24, modalities=('normal', 'mask'),
        backend='torch', backend_args=dict(device='cpu',
                                           return_tensors=True))
    out = renderer.render_batch(ict_faces[:2], return_depth=True,
                                return_face_index=True)
    assert isinstance(out.images, torch.Tensor)
    assert out.images.shape == (2, 2, 24, 24, 4)
    assert out.images.dtype == torch.uint8
    assert out.depth.dtype == torch.float32
    assert out.face_index.dtype == torch.int32
    assert isinstance(out.coverage, np.ndarray) and out.coverage.shape == \
        (2, 2)
    # Landmarks are projected against the tensor depth too.
    assert out.landmarks_visible[0].shape == (2, 68)
    assert out.landmarks_visible[0].any()
    for bad in (0, -3, 1.5, True):
        with pytest.raises(ValueError, match='max_candidates'):
            build_render_backend('torch', max_candidates=bad)
    with pytest.raises(TypeError):
        build_render_backend('torch', colour=True)


def test_top_left_rule_on_pixel_centres():
    """A square whose edges pass exactly through pixel centres: its left
    and top edges own them, its right and bottom edges do not (23 x 23
    pixels, not 24 x 24), in both backends."""
    # 16 px / 50 mm: x = +-35.9375 mm lands on x = 4.5 and 27.5 px, the
    # centres of columns 4 and 27 (and rows 27 and 4).
    a = 35.9375
    mesh = Mesh(
        vertices=np.array([[-a, -a, 0], [a, -a, 0], [a, a, 0], [-a, a, 0]]),
        faces=np.array([[0, 1, 2], [0, 2, 3]]))
    kwargs = dict(views='front', size=32, modalities=('mask', ),
                  extent_mm=50.0)
    out = MultiViewRenderer(backend='torch', **kwargs).render(
        mesh, return_face_index=True)
    mask = out.images[0, ..., 0] > 0
    assert mask.sum() == 23 * 23
    assert mask[4, 4] and mask[26, 26] and not mask[27, 4] and \
        not mask[4, 27]
    ref = MultiViewRenderer(**kwargs).render(mesh, return_face_index=True)
    # The shared diagonal's centres go to one triangle, the same in both.
    np.testing.assert_array_equal(out.face_index, ref.face_index)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
@pytest.mark.parametrize('setup', ['ortho', 'perspective'])
def test_cuda_matches_numba(ict_faces, setup):
    kwargs = dict(views=VIEWS, modalities=ALL, **SETUPS[setup])
    ref = MultiViewRenderer(**kwargs).render_batch(
        ict_faces, return_depth=True, return_face_index=True)
    renderer = MultiViewRenderer(
        backend='torch', backend_args=dict(device='cuda',
                                           return_tensors=True), **kwargs)
    out = renderer.render_batch(ict_faces, return_depth=True,
                                return_face_index=True)
    assert out.images.device.type == 'cuda'
    for name in ('images', 'depth', 'face_index'):
        setattr(out, name, getattr(out, name).cpu().numpy())
    check_parity(ref, out, ALL)
