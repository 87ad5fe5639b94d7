# Copyright (c) mmfer4d contributors. All rights reserved.
import numpy as np
import pytest
from mmengine.registry import init_default_scope

from mmfer4d.datasets.transforms import RenderMultiView
from mmfer4d.registry import TRANSFORMS
from mmfer4d.structures.mesh import Mesh


def bump(path=None, shift=0.0):
    g = np.linspace(-60, 60, 12)
    x, y = np.meshgrid(g, g)
    z = 30 * np.exp(-(x**2 + y**2) / 2000.0) + shift
    idx = np.arange(144).reshape(12, 12)
    a, b = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel()
    c, d = idx[1:, :-1].ravel(), idx[1:, 1:].ravel()
    faces = np.concatenate([np.stack([a, b, d], 1), np.stack([a, d, c], 1)])
    return Mesh(
        vertices=np.stack([x, y, z], -1).reshape(-1, 3),
        faces=faces,
        metainfo={} if path is None else dict(path=path))


def test_build_and_scan_keys():
    init_default_scope('mmfer4d')
    t = TRANSFORMS.build(
        dict(type='RenderMultiView', views=('front', 'left', (10, 5, 0)),
             size=16, modalities=('depth', 'normal', 'mask')))
    assert isinstance(t, RenderMultiView)
    results = t(dict(mesh=bump(), gt_label=1))
    assert len(results['img']) == 3
    for img in results['img']:
        assert img.shape == (16, 16, 5) and img.dtype == np.uint8
        assert (img[..., 4] == 255).any() and (img[..., 4] == 0).any()
    assert results['img_shape'] == (16, 16)
    assert results['view_angles'] == [(0.0, 0.0, 0.0), (45.0, 0.0, 0.0),
                                      (10.0, 5.0, 0.0)]
    assert results['modalities'] == ('depth', 'normal', 'mask')
    assert results['gt_label'] == 1 and 'mesh' in results


def test_sequence_keys():
    t = RenderMultiView(views=('front', 'right'), size=(12, 20),
                        modalities=('shading', ))
    results = t(dict(meshes=[bump(), bump(shift=5.0), bump()]))
    assert len(results['img']) == 3
    assert all(len(views) == 2 for views in results['img'])
    assert results['img'][0][1].shape == (12, 20, 1)
    np.testing.assert_array_equal(results['img'][0][0], results['img'][2][0])


def test_errors():
    with pytest.raises(ValueError, match='unknown modality'):
        RenderMultiView(modalities=('depht', ))
    with pytest.raises(ValueError, match='unknown view'):
        RenderMultiView(views=('front', 'back'))
    t = RenderMultiView(size=8)
    with pytest.raises(ValueError, match="results\\['mesh'\\]"):
        t(dict(img=None))
    empty = Mesh(np.zeros((0, 3)), np.zeros((0, 3)),
                 metainfo=dict(path='F0001_HA04.wrl'))
    with pytest.raises(ValueError, match='F0001_HA04.wrl'):
        t(dict(mesh=empty))


def test_render_cache(tmp_path):
    src = tmp_path / 'F0001_AN01.wrl'
    src.write_text('dummy')
    cfg = dict(views=('front', 'left'), size=16, modalities=('depth', ),
               cache=dict(dir=str(tmp_path / 'cache'), max_mb=10))
    t = RenderMultiView(**cfg)
    first = t(dict(mesh=bump(str(src))))['img']
    assert t.cache.misses == 1 and t.cache.hits == 0
    second = t(dict(mesh=bump(str(src))))['img']
    assert t.cache.hits == 1
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    # A different mesh from the same file (other normalisation) misses.
    t(dict(mesh=bump(str(src), shift=1.0)))
    assert t.cache.hits == 1 and t.cache.misses == 2
    # Augmented samples and meshes without a file bypass the cache.
    t(dict(mesh=bump(str(src)), mesh_augment=dict(angle=1.0)))
    t(dict(mesh=bump()))
    assert t.cache.hits == 1 and t.cache.misses == 2
    # A new transform with other parameters does not see these entries.
    t2 = RenderMultiView(**dict(cfg, size=17))
    t2(dict(mesh=bump(str(src))))
    assert t2.cache.hits == 0
    with pytest.raises(ValueError, match='cache'):
        RenderMultiView(cache=str(tmp_path))


def test_landmarks_per_view(tmp_path):
    # The apex of the (one-layer, two-sided) bump, seen from both sides,
    # and a point under it: hidden from the front, seen from behind.
    lms = np.array([[0, 0, 30.0], [0, 0, -10.0]])
    mesh = bump().copy(landmarks=lms)
    t = RenderMultiView(views=('front', (180, 0, 0)), size=24,
                        modalities=('mask', ), extent_mm=60.0)
    results = t(dict(mesh=mesh))
    assert results['landmarks_2d'].shape == (2, 2, 2)
    np.testing.assert_allclose(results['landmarks_2d'][0, 0], [12, 12],
                               atol=1e-4)
    np.testing.assert_array_equal(results['landmarks_2d_visible'],
                                  [[True, False], [True, True]])
    # A mesh without landmarks after one with: no stale landmarks.
    results = t(dict(results, mesh=bump()))
    assert 'landmarks_2d' not in results
    # Sequences: one (V, L, 2) array per frame.
    seq = t(dict(meshes=[mesh, mesh.copy()]))
    assert len(seq['landmarks_2d']) == 2
    np.testing.assert_array_equal(seq['landmarks_2d'][1],
                                  seq['landmarks_2d'][0])
    # The render cache keeps the landmarks beside the views.
    src = tmp_path / 'F0001_AN01.wrl'
    src.write_text('dummy')
    cached = RenderMultiView(views=('front', (180, 0, 0)), size=24,
                             modalities=('mask', ), extent_mm=60.0,
                             cache=dict(dir=str(tmp_path / 'cache')))
    meta = dict(path=str(src))
    first = cached(dict(mesh=mesh.copy(metainfo=meta)))
    second = cached(dict(mesh=mesh.copy(metainfo=meta)))
    assert cached.cache.hits == 2  # views and landmarks
    np.testing.assert_array_equal(first['landmarks_2d'],
                                  second['landmarks_2d'])
    np.testing.assert_array_equal(first['landmarks_2d_visible'],
                                  second['landmarks_2d_visible'])
    # Other landmarks on the same vertices miss.
    cached(dict(mesh=mesh.copy(metainfo=meta, landmarks=lms + 1)))
    assert cached.cache.hits == 2


def test_backend_and_guards():
    with pytest.raises(ValueError, match='unknown render backend'):
        RenderMultiView(backend='nope')
    with pytest.raises(ValueError, match='max_memory_mb'):
        RenderMultiView(size=20000)
    with pytest.raises(ValueError, match='size must be an int'):
        RenderMultiView(size=112.0)
    t = RenderMultiView(size=16, min_coverage=0.5, on_blank='raise')
    with pytest.raises(ValueError, match='blank render of F0001.wrl'):
        t(dict(mesh=bump('F0001.wrl', shift=0).copy(
            vertices=bump().vertices * 0.1)))


def test_landmarks_are_packed_into_the_data_sample():
    import torch

    from mmfer4d.datasets.transforms import PackMultiViewInputs
    mesh = bump().copy(landmarks=np.array([[0, 0, 30.0], [0, 0, -10.0]]))
    render = RenderMultiView(views=('front', 'left', 'right'), size=16,
                             modalities=('depth', ), extent_mm=60.0)
    packed = PackMultiViewInputs()(render(dict(mesh=mesh, gt_label=2)))
    sample = packed['data_samples']
    assert sample.landmarks_2d.shape == (3, 2, 2)
    assert sample.landmarks_2d.dtype == torch.float32
    assert sample.landmarks_2d_visible.dtype == torch.bool
    assert sample.landmarks_2d_visible[:, 0].all()  # the apex
    assert not sample.landmarks_2d_visible[0, 1]  # hidden from the front
    seq = PackMultiViewInputs()(render(dict(meshes=[mesh, mesh.copy()])))
    assert seq['data_samples'].landmarks_2d.shape == (2, 3, 2, 2)
    plain = PackMultiViewInputs()(render(dict(mesh=bump())))
    assert 'landmarks_2d' not in plain['data_samples']
