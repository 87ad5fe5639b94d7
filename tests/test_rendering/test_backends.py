# Copyright (c) mmfer4d contributors. All rights reserved.
import subprocess
import sys

import numpy as np
import pytest
import trimesh

from mmfer4d.rendering import (RENDER_BACKENDS, BaseRenderBackend,
                               BatchRenderOutput, MeshBatch, MultiViewRenderer,
                               build_render_backend, register_render_backend)
from mmfer4d.rendering.backends import NumbaRenderBackend
from mmfer4d.structures.mesh import Mesh


def sphere(radius, shift=(0, 0, 0), subdivisions=3):
    s = trimesh.creation.icosphere(subdivisions=subdivisions, radius=radius)
    return Mesh(vertices=s.vertices + np.asarray(shift), faces=s.faces)


@pytest.fixture
def recording_backend():
    """A backend that records what the front hands it and draws a square."""
    calls = []

    class Recording(BaseRenderBackend):

        def render(self, batch, cameras, settings, return_depth=False,
                   return_face_index=False):
            calls.append((batch, cameras, settings, return_depth))
            b, v = len(batch), cameras.num_views
            h, w = cameras.size
            images = np.zeros((b, v, h, w, 1), np.uint8)
            images[:, :, :h // 2, :w // 2] = 255
            # The square lies in the plane through the centre.
            depth = np.where(images[..., 0] > 0,
                             cameras.distances[:, None, None, None],
                             0).astype(np.float32)
            return BatchRenderOutput(
                images=images, depth=depth if return_depth else None,
                face_index=None, coverage=np.full((b, v), 0.25))

    register_render_backend('recording', Recording)
    yield calls
    RENDER_BACKENDS.pop('recording')


def test_registry():
    assert isinstance(build_render_backend('numba'), NumbaRenderBackend)
    assert RENDER_BACKENDS['numba'] is NumbaRenderBackend
    assert NumbaRenderBackend.name == 'numba'
    with pytest.raises(ValueError, match="unknown render backend 'opengl'"):
        MultiViewRenderer(backend='opengl')
    with pytest.raises(KeyError, match='already registered'):
        register_render_backend('numba', NumbaRenderBackend)
    with pytest.raises(TypeError, match='subclass BaseRenderBackend'):
        register_render_backend('bad', object)
    with pytest.raises(TypeError, match='takes no options'):
        MultiViewRenderer(backend_args=dict(device='cuda'))

    @register_render_backend('numba_again')
    class Again(NumbaRenderBackend):
        pass

    try:
        renderer = MultiViewRenderer(size=8, backend='numba_again')
        assert isinstance(renderer.backend, Again)
        assert "backend='numba_again'" in repr(renderer)
    finally:
        RENDER_BACKENDS.pop('numba_again')


def test_the_front_hands_the_backend_checked_meshes_and_cameras(
        recording_backend):
    mesh = sphere(40.0, shift=(10, 0, 0)).copy(
        landmarks=np.array([[-10.0, 20.0, 0.0], [30.0, -20.0, 0.0]]))
    renderer = MultiViewRenderer(
        views=('front', 'left'), size=(20, 30), modalities=('mask', ),
        extent_mm='auto', center='bbox', backend='recording')
    res = renderer.render(mesh)
    batch, cameras, settings, asked_depth = recording_backend[0]
    assert isinstance(batch, MeshBatch) and len(batch) == 1
    assert batch.meshes[0].vertices.dtype == np.float32
    assert batch.meshes[0].faces.dtype == np.int32
    np.testing.assert_allclose(cameras.centers[0], [10, 0, 0], atol=1e-5)
    # 'auto' extent: bounding sphere 40 mm * 1.05 over 10 px.
    np.testing.assert_allclose(cameras.scales[0], 10 / 42.0, rtol=1e-5)
    assert cameras.size == (20, 30) and cameras.num_views == 2
    assert settings.modalities == ('mask', )
    # The mesh has landmarks: the front asks for depth to test occlusion.
    assert asked_depth and res.depth is None
    # The backend's square covers the top-left quarter: the first
    # landmark is there (in the square's plane in the front view, 14 mm
    # behind it in the left view), the second over background.
    np.testing.assert_array_equal(res.landmarks_visible,
                                  [[True, False], [False, False]])
    assert res.images.shape == (2, 20, 30, 1)
    np.testing.assert_array_equal(res.coverage, [0.25, 0.25])


def test_render_batch_matches_single_renders():
    meshes = [sphere(40.0), sphere(25.0, (10, 5, 0), 2), sphere(50.0)]
    renderer = MultiViewRenderer(
        views=('front', (30, 20, 10)), size=32, extent_mm='auto',
        center='bbox', modalities=('depth', 'normal', 'mask'))
    out = renderer.render_batch(meshes, return_depth=True,
                                return_face_index=True)
    assert out.images.shape == (3, 2, 32, 32, 5)
    assert out.depth.shape == out.face_index.shape == (3, 2, 32, 32)
    assert out.coverage.shape == (3, 2)
    for b, mesh in enumerate(meshes):
        one = renderer.render(mesh, return_depth=True,
                              return_face_index=True)
        np.testing.assert_array_equal(out.images[b], one.images)
        np.testing.assert_array_equal(out.depth[b], one.depth)
        # Triangle ids index each mesh's own faces.
        np.testing.assert_array_equal(out.face_index[b], one.face_index)
        assert out.face_index[b].max() < mesh.num_faces
        np.testing.assert_allclose(out.coverage[b], one.mask.mean((1, 2)))
    with pytest.raises(ValueError, match='max_memory_mb'):
        MultiViewRenderer(size=512, max_memory_mb=10).render_batch(
            meshes * 4)


def test_packed_and_padded_layouts():
    tex = np.zeros((2, 3, 3), np.uint8)
    a = Mesh(np.zeros((3, 3)), [[0, 1, 2]], face_uvs=np.full((1, 3, 2), .5),
             texture=tex)
    b = Mesh(np.ones((4, 3)), [[0, 1, 2], [1, 2, 3]],
             vertex_colors=np.full((4, 3), 7, np.uint8))
    batch = MeshBatch.from_meshes([a, b], need_color=True)
    packed = batch.packed()
    assert packed.vertices.shape == (7, 3)
    np.testing.assert_array_equal(packed.vertex_offsets, [0, 3, 7])
    np.testing.assert_array_equal(packed.face_offsets, [0, 1, 3])
    # Faces index the packed vertices.
    np.testing.assert_array_equal(packed.faces,
                                  [[0, 1, 2], [3, 4, 5], [4, 5, 6]])
    np.testing.assert_array_equal(packed.color_source, [2, 1])
    assert (packed.face_uvs[0] == 0.5).all() and (packed.face_uvs[1:] ==
                                                  0).all()
    assert (packed.vertex_colors[:3] == 0).all()
    assert (packed.vertex_colors[3:] == 7).all()
    assert packed.textures[0] is batch.meshes[0].texture
    assert packed.textures[1] is None
    padded = batch.padded()
    assert padded.vertices.shape == (2, 4, 3)
    np.testing.assert_array_equal(padded.faces[0], [[0, 1, 2], [-1, -1, -1]])
    np.testing.assert_array_equal(padded.num_vertices, [3, 4])
    np.testing.assert_array_equal(padded.num_faces, [1, 2])
    # Without 'rgb' the colour inputs are not checked nor passed on.
    plain = MeshBatch.from_meshes([a], need_color=False).meshes[0]
    assert plain.texture is None and plain.color_source == 'shading'
    with pytest.raises(ValueError, match='at least one mesh'):
        MeshBatch([])


def test_importing_shared_facts_does_not_import_numba():
    code = ('import sys\n'
            'from mmfer4d.rendering import MODALITY_CHANNELS, Cameras\n'
            'import mmfer4d.rendering.modalities\n'
            'import mmfer4d.models.data_preprocessors\n'
            'import mmfer4d.visualization\n'
            'assert MODALITY_CHANNELS["normal"] == 3\n'
            'assert "numba" not in sys.modules, "numba imported"\n'
            'from mmfer4d.rendering import kernel_cache_stats\n'
            'assert "numba" in sys.modules\n')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
