# Copyright (c) mmfer4d contributors. All rights reserved.
"""Helpers shared by the text readers: fast number blocks, line numbers."""
import bisect
import re
from typing import Optional, Tuple

import numpy as np

from .errors import MeshReadError

_COMMENT = re.compile(r'#[^\n]*')
_TOKEN = re.compile(r'[^\s,]+')


def line_of(text: str, pos: int) -> int:
    """1-based line number of character ``pos`` in ``text``."""
    return text.count('\n', 0, pos) + 1


def parse_numbers(path,
                  text: str,
                  start: int,
                  end: int,
                  dtype,
                  what: str) -> np.ndarray:
    """Parse the numbers in ``text[start:end]`` in one vectorised call.

    Commas count as white space (VRML) and ``#`` starts a comment.

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
            line of the first bad token.
    """
    block = text[start:end]
    if '#' in block:
        # Blank comments out with spaces of the same length so that offsets
        # (hence line numbers) stay right.
        block = _COMMENT.sub(lambda m: ' ' * len(m.group()), block)
    flat = block.replace(',', ' ')
    if not flat or flat.isspace():
        return np.zeros(0, dtype=dtype)
    try:
        return np.fromstring(flat, sep=' ', dtype=dtype)
    except ValueError:
        pass
    # Slow path, only on bad input: find the first token that fails.
    for match in _TOKEN.finditer(block):
        token = match.group()
        try:
            if np.issubdtype(dtype, np.integer):
                int(token)
            else:
                float(token)
        except ValueError:
            kind = 'integer' if np.issubdtype(dtype, np.integer) \
                else 'number'
            raise MeshReadError(
                path,
                f'bad {kind} {token[:20]!r} in {what}',
                line=line_of(text, start + match.start())) from None
    raise MeshReadError(
        path, f'could not parse {what}', line=line_of(text, start))


def token_line(text: str, start: int, end: int, index: int) -> Optional[int]:
    """Line of the ``index``-th number token in ``text[start:end]``."""
    for i, match in enumerate(_TOKEN.finditer(text, start, end)):
        if i == index:
            return line_of(text, match.start())
    return None


class Skeleton:
    """A text with the contents of every ``[ ... ]`` block cut out.

    Number blocks make up nearly all of a VRML file; regex searches for
    node and field names run on the short skeleton instead (a search over
    the full megabyte costs tens of milliseconds each).

    Args:
        text (str): The whole file.
    """

    def __init__(self, text: str):
        parts, self.blocks, self.cut = [], {}, []
        pos, removed = 0, 0
        while True:
            i = text.find('[', pos)
            if i < 0:
                parts.append(text[pos:])
                break
            j = text.find(']', i + 1)
            parts.append(text[pos:i + 1])
            sk_pos = i + 1 - removed
            # j < 0: the block runs to the end of a truncated file.
            self.blocks[sk_pos] = (i + 1, j)
            if j < 0:
                break
            self.cut.append((sk_pos, j - i - 1))
            removed += j - i - 1
            pos = j
        self.text = ''.join(parts)
        self._cut_at = [c[0] for c in self.cut]
        self._removed = []
        total = 0
        for _, n in self.cut:
            total += n
            self._removed.append(total)

    def to_text(self, sk_pos: int) -> int:
        """Position in the full text of skeleton position ``sk_pos``."""
        k = bisect.bisect_right(self._cut_at, sk_pos)
        return sk_pos + (self._removed[k - 1] if k else 0)


def find_block(skeleton: Skeleton,
               pattern: 're.Pattern',
               path,
               what: str,
               text: str,
               pos: int = 0,
               endpos: Optional[int] = None) -> Optional[Tuple[int, int]]:
    """Locate ``pattern ... [`` and its closing ``]``.

    Args:
        skeleton (Skeleton): The file without block contents.
        pattern (re.Pattern): Regex ending just after the opening ``[``.
        path (str): The file, for error messages.
        what (str): The block's name, for error messages.
        text (str): The whole file.
        pos (int): Skeleton position where the search starts. Defaults to 0.
        endpos (int, optional): Skeleton position where it stops. Defaults
            to the end.

    Returns:
        tuple[int, int] | None: ``(start, end)`` of the block contents in
        ``text``, or None when the pattern does not occur.

    Raises:
        MeshReadError: If the block is not closed (a truncated file).
    """
    sk = skeleton.text
    match = pattern.search(sk, pos, len(sk) if endpos is None else endpos)
    if match is None:
        return None
    start, end = skeleton.blocks[match.end()]
    if end < 0:
        raise MeshReadError(
            path, f'{what} is not closed by "]" (truncated file?)',
            line=line_of(text, skeleton.to_text(match.start())))
    return start, end
