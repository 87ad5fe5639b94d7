# Copyright (c) mmfer4d contributors. All rights reserved.
"""Bad meshes and arguments give a clear error or a defined render, never a
crash, and blank renders never pass silently."""
import json
import re
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

from mmfer4d.datasets.transforms import RenderMultiView
from mmfer4d.rendering import MultiViewRenderer
from mmfer4d.structures.mesh import Mesh

# Run in a child interpreter: a kernel reading out of bounds kills it
# (SIGSEGV) instead of failing one test.
_CHILD = textwrap.dedent('''
    import json, sys
    import numpy as np
    from mmfer4d.rendering import MultiViewRenderer, MeshBatch
    from mmfer4d.rendering.mesh_batch import RenderMesh
    from mmfer4d.structures.mesh import Mesh

    quad_v = np.array([[-50, -50, 0], [50, -50, 0], [50, 50, 0],
                       [-50, 50, 0]], float)
    quad_f = np.array([[0, 1, 2], [0, 2, 3]])
    tex = np.random.default_rng(0).integers(0, 256, (16, 16, 3), np.uint8)

    def uvs(value):
        uv = np.tile(np.array([[0, 0], [1, 0], [1, 1]], np.float32),
                     (2, 1, 1))
        uv[0, 1] = value
        return uv

    cases = dict(
        nan_uv=dict(face_uvs=uvs(np.nan), texture=tex),
        inf_uv=dict(face_uvs=uvs(np.inf), texture=tex),
        huge_uv=dict(face_uvs=uvs(1e30), texture=tex),
        empty_texture=dict(face_uvs=uvs(0.5),
                           texture=np.zeros((0, 0, 3), np.uint8)),
        zero_width_texture=dict(face_uvs=uvs(0.5),
                                texture=np.zeros((5, 0, 3), np.uint8)),
        float_texture=dict(face_uvs=uvs(0.5),
                           texture=np.full((4, 4, 3), 0.5)),
        float_colors=dict(vertex_colors=np.full((4, 3), 0.5)),
        inf_vertex=dict(vertices=quad_v * [1, 1, 0] + [0, 0, 1e300]),
        nan_vertex=dict(vertices=np.where(quad_v == 50, np.nan, quad_v)),
        huge_vertex=dict(vertices=quad_v * 1e30),
        far_vertex=dict(vertices=quad_v * [1e4, 1, 1]),
        face_out_of_range=dict(faces=[[0, 1, 2], [0, 2, 4]]),
        negative_face=dict(faces=[[0, 1, 2], [0, 2, -1]]),
        no_faces=dict(faces=np.zeros((0, 3), int)),
    )
    out = {}
    for name, change in cases.items():
        fields = dict(vertices=quad_v, faces=quad_f, metainfo=dict(
            path=f'/data/{name}.obj'))
        fields.update(change)
        for ortho in (True, False):
            r = MultiViewRenderer(views=('front', (30, 10, 0)), size=32,
                                  modalities=('depth', 'normal', 'rgb'),
                                  extent_mm=60.0, ortho=ortho,
                                  on_blank='ignore')
            try:
                res = r.render(Mesh(**fields), return_depth=True)
                out[name] = ['ok', int(res.images.sum() > 0)]
            except ValueError as exc:
                out[name] = ['ValueError', str(exc)]
    # Second line: NaN texture coordinates past the front's checks reach
    # the kernel, which clamps its texel indices.
    r = MultiViewRenderer(size=32, modalities=('rgb', ), extent_mm=60.0)
    mesh = RenderMesh(np.require(quad_v, np.float32, 'CW'),
                      np.require(quad_f, np.int32, 'CW'),
                      face_uvs=np.require(uvs(np.nan), np.float32, 'CW'),
                      texture=tex)
    batch = MeshBatch([mesh])
    res = r.backend.render(batch, r.cameras(batch), r.settings)
    out['kernel_nan_uv'] = ['ok', int(res.images.sum() > 0)]
    print(json.dumps(out))
''')


def test_bad_meshes_never_crash():
    proc = subprocess.run([sys.executable, '-c', _CHILD],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (
        f'child died with {proc.returncode}: {proc.stderr[-3000:]}')
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    expect_error = {
        'nan_uv': 'NaN or Inf',  # Mesh validation catches it first
        'inf_uv': 'NaN or Inf',
        'empty_texture': 'texture is empty',
        'zero_width_texture': 'texture is empty',
        'float_texture': 'texture must be (a )?uint8',
        'float_colors': 'vertex_colors must be (a )?uint8',
        'inf_vertex': 'NaN or Inf|overflows float32',
        'nan_vertex': 'NaN or Inf',
        'huge_vertex': 'beyond the 1e\\+06 mm',
        'face_out_of_range': 'out of range',
        'negative_face': 'out of range',
        'no_faces': 'empty mesh',
    }
    for name, pattern in expect_error.items():
        kind, message = out[name]
        assert kind == 'ValueError', (name, out[name])
        assert re.search(pattern, message), (name, message)
        assert f'{name}.obj' in message, (name, message)
    # Defined renders: huge texture coordinates are clamped to the border,
    # a far vertex just leaves the frame; the kernel survives NaN UVs.
    assert out['huge_uv'] == ['ok', 1]
    assert out['far_vertex'] == ['ok', 1]
    assert out['kernel_nan_uv'] == ['ok', 1]


@pytest.mark.parametrize('kwargs,match', [
    (dict(size=20000), 'needs about 20.8 GB.*max_memory_mb=2048'),
    (dict(size=(4096, 4096), max_memory_mb=100), 'max_memory_mb=100'),
    (dict(size=20000, max_memory_mb=1e6), "'numba' backend's limit of 16384"),
    (dict(size=224.0), 'size must be an int or a pair of ints'),
    (dict(size=(224, 22.5)), 'size must be an int'),
    (dict(size=True), 'size must be an int'),
    (dict(size='224'), 'size must be an int'),
    (dict(camera_distance_mm=-100.0), 'camera_distance_mm must be'),
    (dict(camera_distance_mm=0), 'camera_distance_mm must be'),
    (dict(extent_mm=float('inf')), 'extent_mm must be'),
    (dict(near_mm=0.0), 'near_mm must be'),
    (dict(depth_range_mm=-5.0), 'depth_range_mm must be'),
    (dict(center=(0, float('nan'), 0)), 'center must have 3 finite'),
    (dict(ambient=2.0), 'ambient'),
    (dict(min_coverage=1.5), 'min_coverage'),
    (dict(on_blank='skip'), 'on_blank'),
    (dict(landmark_tol_mm=-1.0), 'landmark_tol_mm'),
])
def test_bad_arguments_are_refused_at_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MultiViewRenderer(**kwargs)
    with pytest.raises(ValueError, match=match):
        RenderMultiView(**kwargs)


def test_memory_cap_admits_large_renders():
    # 8 views of 9 channels: 2048 px fit the default cap, 4096 px (2.6 GB)
    # need a raised one.
    big = dict(views=['front'] * 8,
               modalities=('depth', 'normal', 'rgb', 'shading', 'mask'))
    assert MultiViewRenderer(size=2048, **big).memory_bytes() == \
        2048**2 * (8 * (9 + 8) + 16)
    with pytest.raises(ValueError, match='about 2.6 GB'):
        MultiViewRenderer(size=4096, **big)
    MultiViewRenderer(size=4096, max_memory_mb=4000, **big)


def face_like(outlier=None, path='/data/F0001_NE00WH_F3D.wrl'):
    g = np.linspace(-60, 60, 25)
    x, y = np.meshgrid(g, g)
    z = 30 * np.exp(-(x**2 + y**2) / 2000.0)
    verts = np.stack([x, y, z], -1).reshape(-1, 3)
    idx = np.arange(625).reshape(25, 25)
    a, b = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel()
    c, d = idx[1:, :-1].ravel(), idx[1:, 1:].ravel()
    faces = np.concatenate([np.stack([a, b, d], 1), np.stack([a, d, c], 1)])
    if outlier is not None:  # one stray vertex (a scanner artefact)
        verts = np.concatenate([verts, [outlier]])
        faces = np.concatenate([faces, [[0, 1, 625]]])
    return Mesh(verts, faces, metainfo=dict(path=path))


@pytest.mark.parametrize('kwargs,mesh', [
    # Perspective cameras whose centre lies behind the face: the face is
    # behind every camera.
    (dict(ortho=False, center=(0, 0, -400), camera_distance_mm=200),
     face_like()),
    # A near plane beyond the face.
    (dict(ortho=False, camera_distance_mm=20, near_mm=100), face_like()),
    # One far outlier vertex with extent_mm='auto' shrinks the face to a
    # few pixels.
    (dict(extent_mm='auto'), face_like(outlier=(0, 0, 20000))),
    # The face out of the frame.
    (dict(center=(500, 0, 0)), face_like()),
])
def test_blank_renders_raise_or_warn(kwargs, mesh):
    base = dict(views=('front', 'left'), size=48, modalities=('depth', ))
    with pytest.raises(ValueError, match='blank render of /data/F0001_NE00'
                       '.*cover less than min_coverage=0.01'):
        MultiViewRenderer(**base, **kwargs).render(mesh)
    with pytest.raises(ValueError, match='blank render of /data/F0001'):
        RenderMultiView(**base, **kwargs)(dict(mesh=mesh))
    warn = MultiViewRenderer(**base, **kwargs, on_blank='warn')
    with pytest.warns(UserWarning, match='blank render'):
        res = warn.render(mesh)
    assert (res.coverage < 0.01).any() and warn.num_blank == 1
    quiet = MultiViewRenderer(**base, **kwargs, on_blank='ignore')
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        quiet.render(mesh)
    assert quiet.num_blank == 1
    # The same mesh framed normally is not blank.
    if 'center' not in kwargs:
        ok = MultiViewRenderer(**base).render(face_like())
        assert (ok.coverage > 0.2).all()
