# Copyright (c) mmfer4d contributors. All rights reserved.
"""Resource bounds for every mesh and landmark reader.

A reader never holds more than ``max_bytes`` of file content (after gzip
decompression), never does more than ``max_tokens`` steps of grammar work
(VRML tokens outside number lists, scene-graph visits, OBJ / PLY / OFF
header lines) and never builds a mesh larger than ``max_vertices`` /
``max_faces``. Past a bound it raises :class:`MeshReadError` naming the
bound, so a hostile file (a gzip bomb, a 4 MB file of ``[]`` pairs, a
header claiming 10^12 vertices) costs at most a few seconds and bounded
memory.

The defaults are about 10 times what the largest real face scans need (a
BU-4DFE frame is 3 to 5 MB and 35k vertices, a BU-3DFE raw scan under
100k vertices); a text file's lines are bounded by ``max_vertices +
max_faces + max_tokens``. At the bounds a read peaks at roughly 10 times
``max_bytes`` of memory (hostile files); real scans take a few times their
size. Change them
for a whole run with the environment (read by DataLoader workers too)::

    MMFER4D_READ_MAX_MB=512 MMFER4D_READ_MAX_VERTICES=20000000 python ...

or in code with :func:`set_read_limits` (process-wide) or
:func:`read_limits` (a ``with`` block).
"""
import contextlib
import os
from dataclasses import dataclass, fields, replace
from typing import Iterator, Optional


@dataclass(frozen=True)
class ReadLimits:
    """Bounds on what one read may cost.

    Args:
        max_bytes (int): File content, after decompression, in bytes.
            Defaults to 64 MiB (``MMFER4D_READ_MAX_MB``).
        max_tokens (int): Grammar steps per file: VRML tokens outside number
            lists and scene-graph node visits, OBJ statements other than
            ``v vt vn f``. A real scan needs a few hundred; each costs a
            few microseconds. Defaults to 250,000
            (``MMFER4D_READ_MAX_TOKENS``).
        max_vertices (int): Vertices of the mesh read. Defaults to
            2,000,000 (``MMFER4D_READ_MAX_VERTICES``).
        max_faces (int): Triangles of the mesh read. Defaults to
            4,000,000 (``MMFER4D_READ_MAX_FACES``).
        max_depth (int): Nesting of VRML nodes (through ``USE`` too).
            Defaults to 64 (``MMFER4D_READ_MAX_DEPTH``).
        max_shapes (int): ``Shape`` instances a VRML scene draws (``USE``
            counted each time). Defaults to 10,000
            (``MMFER4D_READ_MAX_SHAPES``).
        max_texture_pixels (int): Pixels of a texture image; a larger one
            is not decoded (warning, geometry kept). Defaults to 64 M
            (``MMFER4D_READ_MAX_TEXTURE_MPIX``, in millions).
    """

    max_bytes: int = 64 << 20
    max_tokens: int = 250_000
    max_vertices: int = 2_000_000
    max_faces: int = 4_000_000
    max_depth: int = 64
    max_shapes: int = 10_000
    max_texture_pixels: int = 64_000_000


_ENV = dict(
    max_bytes=('MMFER4D_READ_MAX_MB', 1 << 20),
    max_tokens=('MMFER4D_READ_MAX_TOKENS', 1),
    max_vertices=('MMFER4D_READ_MAX_VERTICES', 1),
    max_faces=('MMFER4D_READ_MAX_FACES', 1),
    max_depth=('MMFER4D_READ_MAX_DEPTH', 1),
    max_shapes=('MMFER4D_READ_MAX_SHAPES', 1),
    max_texture_pixels=('MMFER4D_READ_MAX_TEXTURE_MPIX', 1_000_000),
)


def _from_env() -> ReadLimits:
    values = {}
    for name, (var, unit) in _ENV.items():
        raw = os.environ.get(var)
        if raw is None or not raw.strip():
            continue
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f'{var}={raw!r} is not a number') from None
        if not value > 0:
            raise ValueError(f'{var}={raw!r} must be positive')
        values[name] = int(value * unit)
    return ReadLimits(**values)


_current: Optional[ReadLimits] = None


def get_read_limits() -> ReadLimits:
    """The bounds in force: :func:`set_read_limits`, else the environment,
    else the defaults of :class:`ReadLimits`."""
    global _current
    if _current is None:
        _current = _from_env()
    return _current


def set_read_limits(limits: Optional[ReadLimits] = None,
                    **changes) -> ReadLimits:
    """Set the bounds for this process.

    Args:
        limits (ReadLimits, optional): New bounds; None starts from the
            ones in force. Defaults to None.
        **changes: Fields of :class:`ReadLimits` to change, e.g.
            ``max_bytes=512 << 20``.

    Returns:
        ReadLimits: The bounds that were in force before (to restore).

    Raises:
        TypeError: If a keyword is not a field of :class:`ReadLimits`.
        ValueError: If a bound is not a positive integer.
    """
    global _current
    old = get_read_limits()
    new = replace(limits or old, **changes)
    for f in fields(new):
        value = getattr(new, f.name)
        if isinstance(value, bool) or not isinstance(value, int) \
                or value <= 0:
            raise ValueError(f'ReadLimits.{f.name} must be a positive int, '
                             f'got {value!r}')
    _current = new
    return old


@contextlib.contextmanager
def read_limits(**changes) -> Iterator[ReadLimits]:
    """Change bounds inside a ``with`` block (see :func:`set_read_limits`).

    Yields:
        ReadLimits: The bounds in force inside the block.
    """
    old = set_read_limits(**changes)
    try:
        yield get_read_limits()
    finally:
        set_read_limits(old)
