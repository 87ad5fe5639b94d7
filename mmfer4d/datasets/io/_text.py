# Copyright (c) mmfer4d contributors. All rights reserved.
"""Helpers shared by the text readers: fast number blocks, line numbers."""
import re
from typing import Optional

import numpy as np

from .errors import MeshReadError

_COMMENT = re.compile(r'#[^\n\r]*')
_TOKEN = re.compile(r'[^\s,]+')
_INT = r'[-+]?(?:0[xX][0-9a-fA-F]+|[0-9]+)'
_FLOAT = (r'[-+]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?'
          r'|[nN][aA][nN]|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?)')
# The first token that is not a number of the kind (one C-level scan).
_BAD = {
    kind: re.compile(r'(?<![^\s,])(?!(?:%s)(?![^\s,]))[^\s,]+' % pattern)
    for kind, pattern in (('integer', _INT), ('number', _FLOAT))
}


def _sign_without_digit(flat: str) -> bool:
    """Whether a ``-`` or ``+`` is not followed by a digit.

    NumPy's integer parser reads a lone sign as 0 and ``- 2`` as -2, so
    such a sign must send the block to the slow path. Vectorised over the
    bytes: a regex scan of a coordIndex costs several milliseconds.
    """
    data = np.frombuffer(flat.encode('utf-8'), np.uint8)
    signs = np.flatnonzero((data == 45) | (data == 43)) + 1
    if not signs.size:
        return False
    if signs[-1] >= data.size:
        return True
    after = data[signs]
    return not ((after >= 48) & (after <= 57)).all()


def line_of(text: str, pos: int) -> int:
    """1-based line number of character ``pos`` in ``text``."""
    return text.count('\n', 0, pos) + 1


def token_line(text: str, start: int, end: int, index: int) -> Optional[int]:
    """Line of the ``index``-th number token in ``text[start:end]``
    (comments skipped)."""
    block = text[start:end]
    if '#' in block:
        block = _COMMENT.sub(lambda m: ' ' * len(m.group()), block)
    for i, match in enumerate(_TOKEN.finditer(block)):
        if i == index:
            return line_of(text, start + match.start())
    return None


def parse_numbers(path,
                  text: str,
                  start: int,
                  end: int,
                  dtype,
                  what: str) -> np.ndarray:
    """Parse the numbers in ``text[start:end]`` in one vectorised call.

    Commas count as white space (VRML) and ``#`` starts a comment that runs
    to the end of its line. Integers may be written in hexadecimal
    (``0x1F``, as VRML's ``SFInt32`` allows).

    Args:
        path (str): The file, for error messages.
        text (str): The whole file.
        start (int): First character of the block.
        end (int): One past its last character.
        dtype: ``np.float64`` or ``np.int64``.
        what (str): The block's name, for error messages.

    Returns:
        np.ndarray: ``(K,)`` numbers of ``dtype``.

    Raises:
        MeshReadError: If a token is not a number of that type, naming the
            token and the line it is on.
    """
    block = text[start:end]
    if '#' in block:
        # Blank comments out with spaces of the same length so that offsets
        # (hence line numbers) stay right.
        block = _COMMENT.sub(lambda m: ' ' * len(m.group()), block)
    flat = block.replace(',', ' ')
    if not flat or flat.isspace():
        return np.zeros(0, dtype=dtype)
    integer = np.issubdtype(dtype, np.integer)
    try:
        out = np.fromstring(flat, sep=' ', dtype=dtype)
    except ValueError:
        out = None
    if out is not None and not (integer and _sign_without_digit(flat)):
        return out
    # Slow path, only on unusual or bad input.
    kind = 'integer' if integer else 'number'
    bad = _BAD[kind].search(block)
    if bad is not None:
        raise MeshReadError(
            path,
            f'bad {kind} {bad.group()[:20]!r} in {what}',
            line=line_of(text, start + bad.start()))
    # Every token is valid, yet NumPy refused the block: hexadecimal
    # integers, or separators NumPy does not know (Unicode white space).
    tokens = _TOKEN.findall(flat)
    if not integer:
        return np.asarray([float(t) for t in tokens], dtype=dtype)
    info = np.iinfo(np.int64)
    out = [
        min(max(int(t, 16 if 'x' in t.lower() else 10), info.min),
            info.max) for t in tokens
    ]
    return np.asarray(out, dtype=dtype)
