# Copyright (c) mmfer4d contributors. All rights reserved.
"""Landmark fixtures typed by hand: BU-3DFE ``.bnd`` (vertex index then
``x y z``, tab separated), Bosphorus ``.lm3`` / ``.lm2`` (comment lines, an
``N landmarks:`` line, then label and coordinate lines, as menpo's LM3
importer describes them). The writers are tested against the same text."""
import numpy as np
import pytest

from mmfer4d.datasets.io import (MeshReadError, read_bnd, read_lm2, read_lm3,
                                 write_bnd, write_lm2, write_lm3)


def _points(n, dim=3, seed=0):
    return np.random.default_rng(seed).normal(0, 40, (n, dim)).astype(
        np.float32)


def test_bnd_tabs_and_spaces(tmp_path):
    points = _points(83)
    seps = ['  ', '\t']
    lines = [
        f'{1000 + i}{seps[i % 2]}{x!r}\t{y!r} {z!r}'
        for i, (x, y, z) in enumerate(points.tolist())
    ]
    path = tmp_path / 'F0001_AN01WH_F3D.bnd'
    path.write_text('\n'.join(lines) + '\n\n')
    out = read_bnd(path)
    assert out.shape == (83, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(out, points)


def test_bnd_round_trip_and_count(tmp_path):
    points = _points(83, seed=1)
    path = tmp_path / 'a.bnd'
    write_bnd(path, points)
    np.testing.assert_array_equal(read_bnd(path), points)
    assert path.read_text().splitlines()[0].startswith('1\t')
    write_bnd(path, points[:10])
    with pytest.raises(MeshReadError, match='10 landmarks, expected 83'):
        read_bnd(path)
    assert read_bnd(path, num_landmarks=None).shape == (10, 3)


@pytest.mark.parametrize('content,reason', [
    ('', 'empty'),
    ('1 2 3 4 5\n', 'index x y z'),
    ('1 2 x 4\n', 'bad number'),
    ('1 2 nan 4\n', 'non-finite'),
    ('1 2 3 inf\n', 'non-finite'),
    (b'\x00\x01\x02garbage', 'binary'),
    ('1 2 1e300 4\n', 'overflows float32'),
])
def test_bnd_broken(tmp_path, content, reason):
    path = tmp_path / 'bad.bnd'
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(MeshReadError, match=reason) as info:
        read_bnd(path, num_landmarks=None)
    assert str(path) in str(info.value)


NAMES = ['Outer left eyebrow', 'Middle left eyebrow', 'Nose tip']


def test_lm3_without_info_block(tmp_path):
    path = tmp_path / 'bs000_E_HAPPY_0.lm3'
    path.write_text('# Landmark 3D file (lm3)\n\n3 landmarks:\n'
                    'Outer left eyebrow\n-56.4556 45.5381 -46.4014\n'
                    'Middle left eyebrow\n-35 50.25 -30\n'
                    'Nose tip\n0 0 10.5\n')
    points, names = read_lm3(path)
    assert names == NAMES
    np.testing.assert_array_equal(
        points, np.array([[-56.4556, 45.5381, -46.4014], [-35, 50.25, -30],
                          [0, 0, 10.5]], np.float32))


LM3_INFO = """# LANDMARKS 3D
#
# File: bs000_E_HAPPY_0
Subject: bs000
22 landmarks:
Outer left eyebrow
-56.4556 45.5381 -46.4014
# a comment line between landmarks
Middle left eyebrow
-35 50.25 -30

Nose tip
0 0 10.5
"""


def test_lm3_info_block_and_comment_lines(tmp_path):
    path = tmp_path / 'a.lm3'
    path.write_text(LM3_INFO.replace('22 landmarks', '3 landmarks'))
    points, names = read_lm3(path)
    assert names == NAMES
    np.testing.assert_array_equal(points[2], np.float32([0, 0, 10.5]))
    path.write_text(LM3_INFO)  # a scan missing 19 of the 22 points
    with pytest.raises(MeshReadError, match='declares 22 landmarks but '
                       'holds 3'):
        read_lm3(path)


def test_lm3_writer_output_reads_back(tmp_path):
    points = _points(3, seed=2)
    path = tmp_path / 'a.lm3'
    write_lm3(path, points, NAMES, info=['# File: x', 'Subject: bs000'])
    assert path.read_text().splitlines()[:4] == [
        '# Landmark 3D file (lm3)', '# File: x', 'Subject: bs000', '']
    back, names = read_lm3(path)
    np.testing.assert_array_equal(back, points)
    assert names == NAMES


def test_lm2(tmp_path):
    path = tmp_path / 'a.lm2'
    path.write_text('# LANDMARKS 2D\n\n2 landmarks:\nNose tip\n320.5 '
                    '240\nChin middle\n321 400.25\n')
    back, names = read_lm2(path)
    np.testing.assert_array_equal(back, np.float32([[320.5, 240],
                                                    [321, 400.25]]))
    assert names == ['Nose tip', 'Chin middle']
    with pytest.raises(MeshReadError, match='expected 3 coordinates'):
        read_lm3(path)
    write_lm2(path, back, names)
    np.testing.assert_array_equal(read_lm2(path)[0], back)


@pytest.mark.parametrize('content,reason', [
    ('', 'empty'),
    ('# only a comment\n', 'no "N landmarks:" line'),
    ('#\n3 landmarks:\nA\n1 2 3\nB\n4 5 6\n', 'declares 3 landmarks but '
     'holds 2'),
    ('#\n2 landmarks:\nA\n1 2 3\nB\n', 'odd number of lines'),
    ('#\n1 landmarks:\nA\n1 two 3\n', 'bad number'),
    ('#\n1 landmarks:\nA\n1 NaN 3\n', 'non-finite'),
    (b'#\x00\xff\xfe', 'binary'),
])
def test_lm3_broken(tmp_path, content, reason):
    path = tmp_path / 'bad.lm3'
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(MeshReadError, match=reason) as info:
        read_lm3(path)
    assert str(path) in str(info.value)
