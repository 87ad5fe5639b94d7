# Copyright (c) mmfer4d contributors. All rights reserved.
"""Reader fuzz suite: only ``MeshReadError`` comes out, in bounded time and
memory, and a damaged file never reads as a wrong mesh where that can be
told.

Seeds are typed by hand (or packed with ``struct``) from each format's
description; every mutation is drawn from a fixed seed, so the suite is
deterministic. Per seed: truncation at many points, byte flips, spliced
tokens (brackets, quotes, lone signs, NaN, 1e300, huge and negative
integers), replaced numbers; per format: random garbage behind a valid
header; and bombs (gzip, ``[]`` pairs, deep nesting, ``USE`` of ``USE``,
lying counts, token floods), the last also in a child process under an
address-space limit.
"""
import gzip
import json
import os
import os.path as osp
import re
import struct
import subprocess
import sys
import time
import tracemalloc
import warnings

import numpy as np
import pytest

from mmfer4d.datasets.io import (MeshReadError, load_mesh, read_bnd,
                                 read_limits, read_lm2, read_lm3)

VRML = b"""#VRML V2.0 utf8
# exporter comment
DEF F0001_NE00WH_F3D Transform {
  children [
    Shape {
      appearance Appearance { texture ImageTexture { url "scan.bmp" } }
      geometry IndexedFaceSet {
        solid FALSE
        coord Coordinate { point [ 0 0 10, 10 0 10, 10 10 12, 0 10 11 ] }
        normal Normal { vector [ 0 0 1, 0 0 1, 0 0 1, 0 0 1 ] }
        coordIndex [ 0, 1, 2, -1, 0, 2, 3, -1 ]
        texCoord TextureCoordinate { point [ 0 0, 1 0, 1 1, 0 1 ] }
        texCoordIndex [ 0, 1, 2, -1, 0, 2, 3, -1 ]
      }
    }
  ]
}
DEF View Viewpoint { position 0 0 500 description "Front" }
"""
OBJ = b"""# obj
mtllib scan.mtl
v 0 0 10
v 10 0 10
v 10 10 12
v 0 10 11
vt 0 0
vt 1 0
vt 1 1
vt 0 1
usemtl skin
f 1/1 2/2 3/3
f 1/1 3/3 4/4
"""
OFF = b"OFF\n4 2 0\n0 0 10\n10 0 10\n10 10 12\n0 10 11\n3 0 1 2\n3 0 2 3\n"
PLY_HEAD = ('ply\nformat {} 1.0\nelement vertex 4\nproperty float x\n'
            'property float y\nproperty float z\nelement face 2\n'
            'property list uchar int vertex_indices\nend_header\n')
PLY_ASCII = PLY_HEAD.format('ascii').encode() + \
    b'0 0 10\n10 0 10\n10 10 12\n0 10 11\n3 0 1 2\n3 0 2 3\n'
POINTS = [(0, 0, 10), (10, 0, 10), (10, 10, 12), (0, 10, 11)]
PLY_BINARY = PLY_HEAD.format('binary_little_endian').encode() + b''.join(
    struct.pack('<3f', *p) for p in POINTS) + struct.pack(
        '<B3iB3i', 3, 0, 1, 2, 3, 0, 2, 3)
STL = b'\0' * 80 + struct.pack('<I', 2) + b''.join(
    struct.pack('<12fH', 0, 0, 1, *POINTS[0], *POINTS[1], *POINTS[k], 0)
    for k in (2, 3))
_GRID = np.zeros((5, 3 * 3))  # x y z u v rows of a 3 x 3 grid, column-major
_GRID[0], _GRID[1] = np.tile([0, 1, 2], 3), np.repeat([0, 1, 2], 3)
_GRID[2] = 10 + _GRID[0]
_GRID[3], _GRID[4] = _GRID[0] / 2, _GRID[1] / 2
BNT = struct.pack('<HHdH', 3, 3, -1e9, 8) + b'scan.png' + struct.pack(
    '<I', 45) + _GRID.astype('<f8').tobytes()
BND = (b'12\t\t-40.5\t\t30.25\t\t80\n13\t\t-20\t\t31\t\t85.5\n'
       b'14\t\t0\t\t0\t\t99\n')
LM3 = (b'# LM3 file\n\n3 landmarks:\nOuter left eyebrow\n-56.4 45.5 -46.4\n'
       b'Nose tip\n0 0 10.5\nChin middle\n0 -60 -20\n')
LM2 = b'# LM2 file\n\n2 landmarks:\nNose tip\n320 240\nChin middle\n321 400\n'


def _landmarks(reader):
    return lambda path: reader(path)[0]


# name -> (file name, content, reader, counted: truncation must fail)
SEEDS = {
    'vrml': ('scan.wrl', VRML, load_mesh, False),
    'vrml_gz': ('scan.wrl.gz', gzip.compress(VRML, mtime=0), load_mesh,
                True),
    'obj': ('scan.obj', OBJ, load_mesh, False),
    'off': ('scan.off', OFF, load_mesh, True),
    'ply_ascii': ('scan.ply', PLY_ASCII, load_mesh, True),
    'ply_binary': ('scan.ply', PLY_BINARY, load_mesh, True),
    'stl': ('scan.stl', STL, load_mesh, True),
    'bnt': ('scan.bnt', BNT, load_mesh, True),
    'bnd': ('scan.bnd', BND, lambda p: read_bnd(p, num_landmarks=3), True),
    'lm3': ('scan.lm3', LM3, _landmarks(read_lm3), True),
    'lm2': ('scan.lm2', LM2, _landmarks(read_lm2), True),
}
NASTY = [b'[', b']', b'{', b'}', b'"', b'#', b'\n', b' nan ', b' inf ',
         b' -inf ', b' 1e300 ', b' -1e300 ', b' - ', b' + ', b'0x7fffffff',
         b' 99999999999999999999 ', b' -2 ', b' 0 ', b' DEF ', b' USE x ',
         b'\x00', b'\xff\xfe', b'/', b'//', b' -1 ', b' 1e-400 ',
         b' 2147483648 ', b'\\', b'\r', b'\t', b',', b' IS ', b' PROTO ',
         b'\x1e', b'\xa0', b'\xc3\xa9']
_NUMBER = re.compile(rb'-?[0-9]+(?:\.[0-9]+)?')


def _outcome(reader, path, cpu_budget=2.0):
    """``('error', None)``, ``('ok', value)`` or ``('bad', message)``."""
    start = time.process_time()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            value = reader(path)
    except MeshReadError as err:
        result = ('error', None)
        if err.path != os.fsdecode(path):
            result = ('bad', f'MeshReadError names {err.path!r}')
        elif err.reason.startswith(('unexpected', 'out of memory')):
            result = ('bad', err.reason)  # caught by the loader's net
    except Exception as err:  # noqa: BLE001 (what the suite looks for)
        result = ('bad', f'{type(err).__name__}: {err}')
    else:
        result = ('ok', value)
        if hasattr(value, 'validate'):
            try:
                value.validate()
                assert value.num_vertices and value.num_faces
            except (ValueError, AssertionError) as err:
                result = ('bad', f'invalid mesh came out: {err}')
        elif not np.isfinite(value).all() or not value.size:
            result = ('bad', 'non-finite or empty landmarks came out')
    spent = time.process_time() - start
    if spent > cpu_budget:
        result = ('bad', f'{spent:.1f} s of CPU')
    return result


def _run(tmp_path, name, contents, check=None):
    """Read every content; the list of problems (empty when all is well)."""
    file_name, seed, reader, _ = SEEDS[name]
    problems = []
    for k, content in enumerate(contents):
        path = tmp_path / f'{k}_{file_name}'
        path.write_bytes(content)
        kind, value = _outcome(reader, path)
        if kind == 'bad':
            problems.append(f'{path.name}: {value}')
        elif kind == 'ok' and check is not None:
            why = check(content, value)
            if why:
                problems.append(f'{path.name}: {why}')
        path.unlink()
    return problems


def _reference(name, tmp_path):
    file_name, seed, reader, _ = SEEDS[name]
    path = tmp_path / ('ref_' + file_name)
    path.write_bytes(seed)
    kind, value = _outcome(reader, path)
    assert kind == 'ok', value
    return value


@pytest.mark.parametrize('name', sorted(SEEDS))
def test_truncation(tmp_path, name):
    _, seed, _, counted = SEEDS[name]
    ref = _reference(name, tmp_path)
    cuts = sorted(set(np.linspace(0, len(seed) - 1, 40).astype(int)))
    last_line = len(seed.rstrip()) - len(seed.rstrip().split(b'\n')[-1])

    def check(content, value):
        if len(content) >= len(seed.rstrip()):
            return None  # only trailing white space was cut
        same = _same(value, ref)
        if name.startswith('vrml') and not same:
            return 'a cut VRML file read as another mesh'
        if name == 'obj':
            n = len(value.vertices) - 1  # the last number may be cut
            if not np.array_equal(value.vertices[:n], ref.vertices[:n]):
                return 'a cut OBJ file read other vertices'
        elif counted and len(content) < last_line and not same:
            return 'a cut file with counts read as a mesh'
        return None
    problems = _run(tmp_path, name, [seed[:c] for c in cuts], check)
    assert not problems, '\n'.join(problems)


def _same(value, ref) -> bool:
    if hasattr(value, 'vertices'):
        return value.vertices.shape == ref.vertices.shape and \
            np.array_equal(value.vertices, ref.vertices) and \
            np.array_equal(value.faces, ref.faces)
    return np.array_equal(value, ref)


@pytest.mark.parametrize('name', sorted(SEEDS))
def test_byte_flips(tmp_path, name):
    seed = SEEDS[name][1]
    rng = np.random.default_rng(len(name) * 7919)
    contents = []
    for _ in range(32):
        data = bytearray(seed)
        for pos in rng.integers(0, len(data), rng.integers(1, 5)):
            data[pos] = int(rng.integers(0, 256))
        contents.append(bytes(data))
    problems = _run(tmp_path, name, contents)
    assert not problems, '\n'.join(problems)


@pytest.mark.parametrize('name', sorted(SEEDS))
def test_spliced_tokens_and_numbers(tmp_path, name):
    seed = SEEDS[name][1]
    rng = np.random.default_rng(len(name) * 104729)
    numbers = list(_NUMBER.finditer(seed))
    contents = []
    for k in range(40):
        token = NASTY[k % len(NASTY)]
        if k % 2 and numbers:  # replace a number
            match = numbers[int(rng.integers(len(numbers)))]
            contents.append(seed[:match.start()] + token.strip() +
                            seed[match.end():])
        else:  # insert anywhere
            pos = int(rng.integers(0, len(seed) + 1))
            contents.append(seed[:pos] + token + seed[pos:])
    problems = _run(tmp_path, name, contents)
    assert not problems, '\n'.join(problems)


HEADERS = {
    'vrml': b'#VRML V2.0 utf8\nShape { geometry IndexedFaceSet { ',
    'obj': b'v 0 0 0\nv 1 0 0\nv 0 1 0\nf ',
    'off': b'OFF\n3 1 0\n',
    'ply_ascii': PLY_HEAD.format('ascii').encode(),
    'ply_binary': PLY_HEAD.format('binary_big_endian').encode(),
    'stl': b'solid x\n facet normal ',
    'bnt': struct.pack('<HHdH', 300, 300, -1e9, 0),
    'lm3': b'#\n2 landmarks:\n',
}


@pytest.mark.parametrize('name', sorted(HEADERS))
def test_garbage_behind_a_valid_header(tmp_path, name):
    rng = np.random.default_rng(len(name))
    contents = [HEADERS[name] + rng.integers(0, 256, int(n), np.uint8)
                .tobytes() for n in rng.integers(0, 3000, 24)]
    contents += [rng.integers(0, 256, int(n), np.uint8).tobytes()
                 for n in rng.integers(0, 3000, 8)]
    problems = _run(tmp_path, name, contents)
    assert not problems, '\n'.join(problems)


def _bombs():
    """(file name, content, read limits) of hostile files."""
    zeros = gzip.compress(b'\0' * (8 << 20), 9)
    spaces = gzip.compress(b'#VRML V2.0 utf8\n' + b' ' * (8 << 20), 9)
    chain = 'DEF A0 Shape { geometry IndexedFaceSet { coord Coordinate { ' \
        'point [ 0 0 0 1 0 0 0 1 0 ] } coordIndex [ 0 1 2 ] } }\n'
    chain += ''.join(f'DEF A{k} Group {{ children [ USE A{k - 1} USE A{k - 1}'
                     ' ] }\n' for k in range(1, 41))
    return {
        # ~400 KB each, 400 MB decompressed (gzip members repeated).
        'gzip_zeros.wrl.gz': (zeros * (400 << 20 >> 23), {}),
        'gzip_spaces.wrl': (spaces * 50, {}),
        'gzip_obj.obj.gz': (zeros * 50, {}),
        'pairs_top.wrl': (b'#VRML V2.0 utf8\n' + b'[]' * (2 << 20), {}),
        'pairs_in_node.wrl': (b'#VRML V2.0 utf8\nWorldInfo { ' +
                              b'a [] ' * (200 << 10) + b'}', {}),
        'pairs_capped.wrl': (b'#VRML V2.0 utf8\nWorldInfo { ' +
                             b'a [] ' * (200 << 10) + b'}',
                             dict(max_tokens=10_000)),
        'deep.wrl': (b'#VRML V2.0 utf8\n' + b'Group { children [ ' * 100_000,
                     {}),
        'use_of_use.wrl': (b'#VRML V2.0 utf8\n' + chain.encode(), {}),
        'strings.wrl': (b'#VRML V2.0 utf8\nWorldInfo { info [ ' +
                        b'"" ' * (400 << 10) + b'] }', {}),
        'huge_counts.ply': (PLY_HEAD.format('ascii').replace(
            'vertex 4', 'vertex 4000000000').encode() + b'0 0 0\n', {}),
        'huge_binary_faces.ply': (PLY_HEAD.format(
            'binary_little_endian').replace('face 2', 'face 3999999').encode()
            + PLY_BINARY.split(b'end_header\n')[1] + b'\x05' * 4096, {}),
        'huge_counts.off': (b'OFF\n3000000000 1 0\n0 0 0\n', {}),
        'huge_grid.bnt': (struct.pack('<HHdHI', 65535, 65535, -1e9, 0,
                                      (65535 * 65535 * 5) % 2**32), {}),
        'statements.obj': (OBJ + b'g\n' * 1_100_000, {}),
        'lines.obj': (OBJ + b' \n' * (8 << 20), {}),
        'faces.obj': (b'v 0 0 0\nv 1 0 0\nv 0 1 0\n' +
                      b'f 1 2 3 1 2 3 1 2 3 1 2 3\n' * 200_000,
                      dict(max_faces=1_000_000)),
    }


_FLOODS = ('pairs_in_node.wrl', 'strings.wrl')


@pytest.mark.parametrize('name', sorted(_bombs()))
def test_bombs_in_bounded_time_and_memory(tmp_path, name):
    content, limits = _bombs()[name]
    path = tmp_path / name
    path.write_bytes(content)
    # Token floods run Python code per token, which tracing slows sevenfold:
    # their memory is bounded in the child process below instead.
    traced = name not in _FLOODS
    if traced:
        tracemalloc.start()
    try:
        with read_limits(**limits):
            kind, value = _outcome(load_mesh, path, cpu_budget=5.0)
        peak = tracemalloc.get_traced_memory()[1] if traced else 0
    finally:
        if traced:
            tracemalloc.stop()
    assert kind == 'error', value
    assert peak < 400 << 20, f'{peak >> 20} MiB traced at the peak'


_CHILD = r'''
import importlib.util, json, os, resource, sys, time, types
root = sys.argv[1]
# The readers without the OpenMMLab stack: stub the heavy parent packages
# so the child starts fast and its address-space limit measures readers.
for name in ('mmfer4d', 'mmfer4d.datasets'):
    module = types.ModuleType(name)
    module.__path__ = [os.path.join(root, *name.split('.'))]
    sys.modules[name] = module
import numpy as np  # noqa
from mmfer4d.datasets.io import MeshReadError, load_mesh
vm = int(open('/proc/self/statm').read().split()[0]) * os.sysconf(
    'SC_PAGE_SIZE')
resource.setrlimit(resource.RLIMIT_AS, (vm + (1536 << 20),) * 2)
out = {}
for path in sys.argv[2:]:
    start = time.process_time()
    try:
        load_mesh(path, load_texture=False)
        kind = 'read'
    except MeshReadError:
        kind = 'MeshReadError'
    except BaseException as err:
        kind = type(err).__name__
    out[os.path.basename(path)] = [kind, time.process_time() - start]
print(json.dumps(out))
'''


@pytest.mark.skipif(not osp.isfile('/proc/self/statm'),
                    reason='needs Linux /proc for the address-space limit')
def test_bombs_under_an_address_space_limit(tmp_path):
    root = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
        osp.abspath(__file__)))))
    paths = []
    for name, (content, limits) in _bombs().items():
        if not limits:  # the child runs the default limits only
            paths.append(str(tmp_path / name))
            (tmp_path / name).write_bytes(content)
    env = dict(os.environ, PYTHONPATH=root)
    proc = subprocess.run([sys.executable, '-c', _CHILD, root] + paths,
                          capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    wrong = {k: v for k, v in results.items() if v[0] != 'MeshReadError'}
    assert not wrong, wrong
    assert len(results) == len(paths)
