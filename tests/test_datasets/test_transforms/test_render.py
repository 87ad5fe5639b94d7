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
