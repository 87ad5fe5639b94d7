# Copyright (c) mmfer4d contributors. All rights reserved.
import numpy as np
import pytest

from mmfer4d.datasets.io import (MeshReadError, load_mesh, write_bnd,
                                 write_bnt, write_lm2, write_lm3, write_vrml)
from mmfer4d.datasets.io.trimesh_io import write_trimesh
from mmfer4d.structures import Mesh


def _mesh():
    return Mesh(
        np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], np.float32),
        np.array([[0, 1, 2]], np.int32))


@pytest.mark.parametrize('ext', ['wrl', 'obj', 'ply'])
def test_dispatch_by_extension(tmp_path, ext):
    path = tmp_path / f'scan.{ext}'
    (write_vrml if ext == 'wrl' else write_trimesh)(path, _mesh())
    mesh = load_mesh(str(path))
    np.testing.assert_allclose(mesh.vertices, _mesh().vertices, atol=1e-6)
    assert mesh.num_faces == 1 and mesh.path == str(path)


def test_bnt_with_lm3(tmp_path):
    grid = np.zeros((2, 2, 5))
    grid[..., 0], grid[..., 1] = np.mgrid[0:2, 0:2]
    write_bnt(tmp_path / 'a.bnt', grid)
    lm = np.array([[1, 2, 3], [4, 5, 6]], np.float32)
    write_lm3(tmp_path / 'a.lm3', lm, ['Nose tip', 'Chin'])
    mesh = load_mesh(tmp_path / 'a.bnt', landmark_path=tmp_path / 'a.lm3')
    assert mesh.num_faces == 2
    np.testing.assert_array_equal(mesh.landmarks, lm)
    assert mesh.metainfo['landmark_names'] == ['Nose tip', 'Chin']


def test_wrl_with_bnd_and_lm2(tmp_path):
    write_vrml(tmp_path / 'a.wrl', _mesh())
    lm = np.arange(83 * 3, dtype=np.float32).reshape(83, 3)
    write_bnd(tmp_path / 'a.bnd', lm)
    mesh = load_mesh(tmp_path / 'a.wrl', landmark_path=tmp_path / 'a.bnd')
    np.testing.assert_array_equal(mesh.landmarks, lm)
    write_lm2(tmp_path / 'a.lm2', lm[:2, :2], ['A', 'B'])
    mesh = load_mesh(tmp_path / 'a.wrl', landmark_path=tmp_path / 'a.lm2')
    assert mesh.landmarks is None
    np.testing.assert_array_equal(mesh.metainfo['landmarks_2d'], lm[:2, :2])


def test_unsupported_and_missing(tmp_path):
    (tmp_path / 'a.xyz').write_text('1 2 3')
    with pytest.raises(MeshReadError, match=r'a\.xyz.*unsupported mesh'):
        load_mesh(tmp_path / 'a.xyz')
    with pytest.raises(MeshReadError, match='missing.wrl'):
        load_mesh(tmp_path / 'missing.wrl')
    write_vrml(tmp_path / 'a.wrl', _mesh())
    with pytest.raises(MeshReadError, match=r'a\.txt.*unsupported landmark'):
        load_mesh(tmp_path / 'a.wrl', landmark_path=tmp_path / 'a.txt')
    with pytest.raises(MeshReadError, match='gone.bnd'):
        load_mesh(tmp_path / 'a.wrl', landmark_path=tmp_path / 'gone.bnd')
