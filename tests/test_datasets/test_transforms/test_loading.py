# Copyright (c) mmfer4d contributors. All rights reserved.
import numpy as np
import pytest

from mmfer4d.datasets.io import MeshReadError
from mmfer4d.datasets.transforms import LoadMeshFromFile, LoadMeshSequence
from mmfer4d.registry import TRANSFORMS


def _write_obj(path, shift=0.0):
    lines = [
        f'v {x + shift} {y} {z}'
        for x, y, z in [(0, 0, 0), (10, 0, 0), (0, 10, 0), (10, 10, 5)]
    ]
    lines += ['f 1 2 3', 'f 2 4 3']
    path.write_text('\n'.join(lines) + '\n')
    return str(path)


def test_load_mesh_from_file(tmp_path):
    path = _write_obj(tmp_path / 'scan.obj')
    load = TRANSFORMS.build(dict(type='LoadMeshFromFile', load_texture=False))
    results = load(dict(mesh_path=path, gt_label=1))
    mesh = results['mesh']
    assert results['gt_label'] == 1
    assert mesh.vertices.shape == (4, 3) and mesh.vertices.dtype == np.float32
    assert mesh.faces.shape == (2, 3)
    np.testing.assert_allclose(
        np.sort(mesh.vertices[:, 2]), [0, 0, 0, 5], atol=1e-6)
    assert 'LoadMeshFromFile' in repr(load)


def test_load_mesh_broken_and_missing(tmp_path):
    broken = tmp_path / 'broken.obj'
    broken.write_text('v 1.0 2.0 nonsense\nf 1 2 9\n')
    with pytest.raises(MeshReadError, match='broken.obj'):
        LoadMeshFromFile()(dict(mesh_path=str(broken)))
    with pytest.raises(MeshReadError, match='absent.obj'):
        LoadMeshFromFile()(dict(mesh_path=str(tmp_path / 'absent.obj')))
    with pytest.raises(KeyError, match='mesh_path'):
        LoadMeshFromFile()(dict())


def test_load_mesh_sequence(tmp_path):
    paths = [_write_obj(tmp_path / f'f{i}.obj', shift=i) for i in range(4)]
    load = LoadMeshSequence(load_texture=False)
    results = load(dict(frame_paths=paths, frame_inds=np.array([0, 2, 2])))
    meshes = results['meshes']
    assert len(meshes) == 3
    assert [float(m.vertices[:, 0].min()) for m in meshes] == [0, 2, 2]
    # A repeated frame is an independent copy, not the same object.
    assert meshes[1] is not meshes[2]
    assert results['frame_inds'].dtype == np.int64
    # All frames when frame_inds is absent.
    results = load(dict(frame_paths=paths))
    assert len(results['meshes']) == 4
    np.testing.assert_array_equal(results['frame_inds'], np.arange(4))
    with pytest.raises(IndexError, match='outside'):
        load(dict(frame_paths=paths, frame_inds=np.array([4])))
