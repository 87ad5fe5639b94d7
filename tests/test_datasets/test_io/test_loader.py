# Copyright (c) mmfer4d contributors. All rights reserved.
"""Dispatch by extension; every fixture typed by hand."""
import struct

import numpy as np
import pytest

from mmfer4d.datasets.io import MeshReadError, load_mesh

TRIANGLE = {
    'wrl': '#VRML V2.0 utf8\nDEF S Transform { children [ Shape { geometry '
           'IndexedFaceSet { coord Coordinate { point [ 0 0 0, 1 0 0, 0 1 0 '
           '] } coordIndex [ 0, 1, 2, -1 ] } } ] }\n',
    'obj': 'v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n',
    'off': 'OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n',
    'ply': 'ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\n'
           'property float y\nproperty float z\nelement face 1\n'
           'property list uchar int vertex_indices\nend_header\n0 0 0\n'
           '1 0 0\n0 1 0\n3 0 1 2\n',
}


@pytest.mark.parametrize('ext', sorted(TRIANGLE))
def test_dispatch_by_extension(tmp_path, ext):
    path = tmp_path / f'scan.{ext.upper()}'  # case does not matter
    path.write_text(TRIANGLE[ext])
    mesh = load_mesh(str(path))
    np.testing.assert_array_equal(mesh.vertices,
                                  [[0, 0, 0], [1, 0, 0], [0, 1, 0]])
    assert mesh.num_faces == 1 and mesh.path == str(path)


def _bnt_2x2():
    # x y z u v columns of a 2 x 2 grid (see test_bnt.py for the layout).
    columns = [0, 1, 0, 1, 0, 0, 1, 1, 5, 5, 5, 5, 0, 1, 0, 1, 0, 0, 1, 1]
    return struct.pack('<HHdHI', 2, 2, -1e9, 0, 20) + struct.pack(
        '<20d', *columns)


def test_bnt_with_lm3(tmp_path):
    (tmp_path / 'a.bnt').write_bytes(_bnt_2x2())
    (tmp_path / 'a.lm3').write_text('# LM3\n2 landmarks:\nNose tip\n1 2 3\n'
                                    'Chin\n4 5 6\n')
    mesh = load_mesh(tmp_path / 'a.bnt', landmark_path=tmp_path / 'a.lm3')
    assert mesh.num_faces == 2
    np.testing.assert_array_equal(mesh.landmarks, [[1, 2, 3], [4, 5, 6]])
    assert mesh.metainfo['landmark_names'] == ['Nose tip', 'Chin']


def test_wrl_with_bnd_and_lm2(tmp_path):
    (tmp_path / 'a.wrl').write_text(TRIANGLE['wrl'])
    lines = [f'{i}\t\t{i}.5\t\t{-i}\t\t{2 * i}' for i in range(83)]
    (tmp_path / 'a.bnd').write_text('\n'.join(lines) + '\n')
    mesh = load_mesh(tmp_path / 'a.wrl', landmark_path=tmp_path / 'a.bnd')
    assert mesh.landmarks.shape == (83, 3)
    np.testing.assert_array_equal(mesh.landmarks[3], [3.5, -3, 6])
    (tmp_path / 'a.lm2').write_text('#\n2 landmarks:\nA\n1 2\nB\n3 4\n')
    mesh = load_mesh(tmp_path / 'a.wrl', landmark_path=tmp_path / 'a.lm2')
    assert mesh.landmarks is None
    np.testing.assert_array_equal(mesh.metainfo['landmarks_2d'],
                                  [[1, 2], [3, 4]])


def test_unsupported_and_missing(tmp_path):
    (tmp_path / 'a.xyz').write_text('1 2 3')
    with pytest.raises(MeshReadError, match=r'a\.xyz.*unsupported mesh'):
        load_mesh(tmp_path / 'a.xyz')
    with pytest.raises(MeshReadError, match='missing.wrl'):
        load_mesh(tmp_path / 'missing.wrl')
    (tmp_path / 'a.wrl').write_text(TRIANGLE['wrl'])
    with pytest.raises(MeshReadError, match=r'a\.txt.*unsupported landmark'):
        load_mesh(tmp_path / 'a.wrl', landmark_path=tmp_path / 'a.txt')
    with pytest.raises(MeshReadError, match='gone.bnd'):
        load_mesh(tmp_path / 'a.wrl', landmark_path=tmp_path / 'gone.bnd')
    (tmp_path / 'folder.obj').mkdir()
    with pytest.raises(MeshReadError, match='cannot open'):
        load_mesh(tmp_path / 'folder.obj')
