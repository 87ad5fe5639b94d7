# Copyright (c) mmfer4d contributors. All rights reserved.
"""Landmark files: BU-3DFE / BU-4DFE ``.bnd``, Bosphorus ``.lm3`` / ``.lm2``.

``.bnd`` (BU-3DFE, 83 points; BU-4DFE frames likewise)::

    6       -41.2977  28.7226  81.9622
    ...

one line per landmark: an index (the vertex index in the scan, not checked)
then ``x y z`` in mm, separated by tabs or spaces.

``.lm3`` (Bosphorus, 3D) and ``.lm2`` (2D, pixels)::

    # Landmark 3D file (lm3)          <- comment line
    # optional info block ...         <- any lines before the count line
    22 landmarks:
    Outer left eyebrow                <- label line
    -56.4556 45.5381 -46.4014         <- coordinates line
    ...
"""
import os
import re
from typing import List, Optional, Sequence, Tuple

import numpy as np

from ._source import as_path, read_text
from .errors import MeshReadError

_FLOAT32_MAX = float(np.finfo(np.float32).max)
_COUNT = re.compile(r'^\s*(\d+)\s+landmarks?\s*:?\s*$', re.IGNORECASE)


def _read_lines(path: str) -> List[str]:
    return read_text(path, 'landmark file').splitlines()


def _floats(path: str, tokens: Sequence[str], line: int) -> np.ndarray:
    try:
        values = np.array([float(t) for t in tokens], dtype=np.float64)
    except ValueError:
        raise MeshReadError(path, f'bad number in {" ".join(tokens)!r}',
                            line=line) from None
    if not np.isfinite(values).all():
        raise MeshReadError(path, 'non-finite landmark coordinate', line=line)
    if (np.abs(values) > _FLOAT32_MAX).any():
        raise MeshReadError(path, 'landmark coordinate overflows float32',
                            line=line)
    return values


def read_bnd(path, num_landmarks: Optional[int] = 83) -> np.ndarray:
    """Read a BU-3DFE / BU-4DFE ``.bnd`` landmark file.

    Args:
        path (str | os.PathLike): The ``.bnd`` file.
        num_landmarks (int, optional): Expected number of landmarks; None
            accepts any. Defaults to 83 (BU-3DFE).

    Returns:
        np.ndarray: ``(L, 3)`` float32 landmark positions in mm.

    Raises:
        MeshReadError: If the file is missing, empty or binary, a line does
            not hold ``index x y z`` (or ``x y z``), a value is NaN, Inf or
            beyond float32,
            or the count differs from ``num_landmarks``.
    """
    path = as_path(path)
    rows = []
    for i, line in enumerate(_read_lines(path), 1):
        tokens = line.replace(',', ' ').split()
        if not tokens:
            continue
        if len(tokens) not in (3, 4):
            raise MeshReadError(
                path, f'expected "index x y z", got {line.strip()[:40]!r}',
                line=i)
        rows.append(_floats(path, tokens[-3:], i))
    if num_landmarks is not None and len(rows) != num_landmarks:
        raise MeshReadError(
            path, f'{len(rows)} landmarks, expected {num_landmarks}')
    return np.asarray(rows, dtype=np.float32).reshape(-1, 3)


def write_bnd(path, landmarks: np.ndarray,
              indices: Optional[Sequence[int]] = None):
    """Write a ``.bnd`` file: ``index<TAB>x<TAB>y<TAB>z`` per landmark.

    Args:
        path (str | os.PathLike): Output file.
        landmarks (np.ndarray): ``(L, 3)`` positions in mm.
        indices (Sequence[int], optional): The index column (BU-3DFE writes
            vertex indices). Defaults to ``1 .. L``.
    """
    landmarks = np.asarray(landmarks, dtype=np.float64).reshape(-1, 3)
    if indices is None:
        indices = range(1, len(landmarks) + 1)
    with open(os.fspath(path), 'w') as f:
        for i, (x, y, z) in zip(indices, landmarks):
            f.write(f'{int(i)}\t{x:.9g}\t{y:.9g}\t{z:.9g}\n')


def _read_lm(path, dim: int) -> Tuple[np.ndarray, List[str]]:
    path = as_path(path)
    lines = _read_lines(path)
    count_at = None
    for i, line in enumerate(lines):
        match = _COUNT.match(line)
        if match:
            count_at, count = i, int(match.group(1))
            break
    if count_at is None:
        raise MeshReadError(path, 'no "N landmarks:" line')
    # Comment lines may follow the count line too (menpo's LM3 importer
    # drops every line holding a '#').
    body = [(i + 1, line.strip())
            for i, line in enumerate(lines[count_at + 1:], count_at + 1)
            if line.strip() and not line.lstrip().startswith('#')]
    if len(body) % 2:
        raise MeshReadError(
            path, 'odd number of lines after the count line: every '
            'landmark needs a label line and a coordinates line',
            line=body[-1][0])
    if len(body) // 2 != count:
        raise MeshReadError(
            path, f'declares {count} landmarks but holds {len(body) // 2}',
            line=count_at + 1)
    names, points = [], []
    for (_, label), (lineno, coords) in zip(body[0::2], body[1::2]):
        tokens = coords.replace(',', ' ').split()
        if len(tokens) != dim:
            raise MeshReadError(
                path, f'expected {dim} coordinates, got {coords[:40]!r}',
                line=lineno)
        names.append(label)
        points.append(_floats(path, tokens, lineno))
    return np.asarray(points, np.float32).reshape(-1, dim), names


def read_lm3(path) -> Tuple[np.ndarray, List[str]]:
    """Read a Bosphorus ``.lm3`` 3D landmark file.

    Args:
        path (str | os.PathLike): The ``.lm3`` file.

    Returns:
        tuple[np.ndarray, list[str]]: ``(L, 3)`` float32 positions in mm and
        the ``L`` landmark names (e.g. ``'Outer left eyebrow'``).

    Raises:
        MeshReadError: If the file is missing, empty or binary, has no
            ``N landmarks:`` line, holds another number of landmarks than
            it declares, or a coordinates line is malformed, NaN or Inf.
    """
    return _read_lm(path, 3)


def read_lm2(path) -> Tuple[np.ndarray, List[str]]:
    """Read a Bosphorus ``.lm2`` 2D landmark file.

    Args:
        path (str | os.PathLike): The ``.lm2`` file.

    Returns:
        tuple[np.ndarray, list[str]]: ``(L, 2)`` float32 image positions in
        pixels and the landmark names.

    Raises:
        MeshReadError: As :func:`read_lm3`.
    """
    return _read_lm(path, 2)


def write_lm3(path,
              landmarks: np.ndarray,
              names: Sequence[str],
              info: Optional[Sequence[str]] = None):
    """Write a Bosphorus-style ``.lm3`` (``(L, 3)``) or ``.lm2`` (``(L, 2)``).

    Args:
        path (str | os.PathLike): Output file.
        landmarks (np.ndarray): ``(L, 3)`` or ``(L, 2)`` positions.
        names (Sequence[str]): ``L`` landmark names.
        info (Sequence[str], optional): Lines of an info block written
            between the comment line and the count line. Defaults to none.
    """
    landmarks = np.asarray(landmarks, dtype=np.float64)
    if len(names) != len(landmarks):
        raise ValueError(f'{len(names)} names for {len(landmarks)} landmarks')
    dim = landmarks.shape[1]
    out = [f'# Landmark {dim}D file (lm{dim})']
    out += list(info or [])
    out += ['', f'{len(landmarks)} landmarks:']
    for name, point in zip(names, landmarks):
        out += [name, ' '.join(f'{v:.9g}' for v in point)]
    with open(os.fspath(path), 'w') as f:
        f.write('\n'.join(out) + '\n')


write_lm2 = write_lm3
