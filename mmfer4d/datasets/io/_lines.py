# Copyright (c) mmfer4d contributors. All rights reserved.
"""A vectorised view of a text file's lines and tokens (OBJ, OFF, PLY).

Face-scan files hold hundreds of thousands of short lines; a Python loop
over them costs about a second. :class:`TextLines` finds every line and
every white-space separated token with a few NumPy passes over the bytes,
so the readers check counts per line and parse all the numbers of a kind of
line in one :func:`numpy.fromstring` call.
"""
import re

import numpy as np

from ._source import read_bytes
from .errors import MeshReadError
from .limits import get_read_limits

_SPACE = np.zeros(256, bool)
_SPACE[[9, 10, 11, 12, 13, 32]] = True
_COMMENT = re.compile(rb'#[^\n]*')


def normalise(raw: bytes, comments: bool = True) -> bytes:
    """Line ends to ``\\n`` (CR-only files too), comments blanked, a final
    newline added. Line numbers are kept."""
    if b'\r' in raw:
        raw = raw.replace(b'\r\n', b'\n') if b'\n' in raw else \
            raw.replace(b'\r', b'\n')
        raw = raw.replace(b'\r', b' ')
    if comments and b'#' in raw:
        raw = _COMMENT.sub(lambda m: b' ' * len(m.group()), raw)
    if not raw.endswith(b'\n'):
        raw += b'\n'
    return raw


def read_lines(path: str, what: str) -> 'TextLines':
    """Read, check and index a text mesh file (OBJ, OFF).

    Raises:
        MeshReadError: If it cannot be read (:func:`~._source.read_bytes`),
            is empty or holds a NUL byte (binary data).
    """
    raw = read_bytes(path, f'{what} file')
    if not raw.strip():
        raise MeshReadError(path, 'empty file')
    if b'\x00' in raw:
        raise MeshReadError(path, f'binary data (a NUL byte) in an {what} '
                            'file', offset=raw.index(b'\x00'))
    # A backslash at the end of a line continues it (OBJ).
    return TextLines(path, normalise(raw.replace(b'\\\n', b'  ')))


class TextLines:
    """Lines and tokens of a text (``\\n`` line ends, ends in ``\\n``).

    Args:
        path (str): The file, for messages.
        raw (bytes): Its normalised content (:func:`normalise`).
        offset (int): Line number of the first line minus one. Defaults
            to 0.

    Attributes:
        starts, ends (np.ndarray): ``(L,)`` byte range of each line.
        token_pos, token_len (np.ndarray): ``(T,)`` first byte and length
            of each token.
        token_line (np.ndarray): ``(T,)`` line of each token.
        line_ntok (np.ndarray): ``(L,)`` tokens on each line.
        line_tok0 (np.ndarray): ``(L,)`` index of each line's first token
            (meaningful where ``line_ntok > 0``).
    """

    def __init__(self, path: str, raw: bytes, offset: int = 0):
        self.path, self.raw, self.offset = path, raw, offset
        limits = get_read_limits()
        cap = limits.max_vertices + limits.max_faces + limits.max_tokens
        if raw.count(b'\n') > cap:
            raise MeshReadError(
                path, f'over {cap} lines (ReadLimits.max_vertices + '
                'max_faces + max_tokens): not a face scan')
        itype = np.int32 if len(raw) < 2**31 else np.int64
        data = np.frombuffer(raw, np.uint8)
        self.data = data
        self.ends = np.flatnonzero(data == 10).astype(itype)
        self.starts = np.concatenate(([0], self.ends[:-1] + 1)).astype(
            itype)
        space = _SPACE[data]
        first = ~space
        first[1:] &= space[:-1]
        self.token_pos = np.flatnonzero(first).astype(itype)
        del first
        last = ~space[:-1] & space[1:]  # the text ends in "\n"
        del space
        self.token_len = (np.flatnonzero(last) + 1 - self.token_pos).astype(
            itype)
        del last
        self.token_line = np.searchsorted(self.ends,
                                          self.token_pos).astype(itype)
        self.line_ntok = np.bincount(self.token_line,
                                     minlength=len(self.ends))
        self.line_tok0 = np.cumsum(self.line_ntok) - self.line_ntok

    def __len__(self) -> int:
        return len(self.ends)

    def line_number(self, line: int) -> int:
        return int(line) + 1 + self.offset

    def error(self, reason: str, line=None) -> MeshReadError:
        return MeshReadError(
            self.path, reason,
            line=None if line is None else self.line_number(line))

    def token(self, index: int) -> str:
        pos, size = int(self.token_pos[index]), int(self.token_len[index])
        return self.raw[pos:pos + size].decode('latin-1')

    def line_text(self, line: int) -> str:
        return self.raw[self.starts[line]:self.ends[line]].decode(
            'latin-1').strip()

    def keywords(self) -> np.ndarray:
        """``(L,)`` the first token of each line as a ``bytes`` array
        (``b''`` for a blank line); at most 8 bytes compared."""
        out = np.zeros(len(self), 'S8')
        has = self.line_ntok > 0
        tok = self.line_tok0[has]
        pos, size = self.token_pos[tok], np.minimum(self.token_len[tok], 8)
        padded = np.zeros((len(tok), 8), np.uint8)
        for k in range(8):
            take = size > k
            padded[take, k] = self.data[pos[take] + k]
        out[has] = padded.view('S8').ravel()
        # A token longer than 8 bytes never equals a keyword.
        long = np.zeros(len(self), bool)
        long[has] = self.token_len[tok] > 8
        out[long] = b'~'
        return out

    def numbers(self, tokens: np.ndarray, dtype, what: str,
                slash: bool = False) -> np.ndarray:
        """Parse the given tokens as numbers in one call.

        Args:
            tokens (np.ndarray): Token indices, in order.
            dtype: ``np.float64`` or ``np.int64``.
            what (str): For messages.
            slash (bool): ``/`` separates numbers inside a token (OBJ
                faces). Defaults to False.

        Returns:
            np.ndarray: The numbers, one per token (more with ``slash``).

        Raises:
            MeshReadError: If a token is not a number, naming it and its
                line.
        """
        if not len(tokens):
            return np.zeros(0, dtype)
        pos, size = self.token_pos[tokens], self.token_len[tokens]
        total = int(size.sum()) + len(tokens)
        # Gather the token bytes, each followed by one space.
        starts = np.cumsum(size + 1) - (size + 1)
        index = np.repeat(pos - starts, size + 1) + np.arange(total)
        buf = self.data[np.minimum(index, len(self.data) - 1)].copy()
        buf[starts + size] = 32
        if slash:
            buf[buf == 47] = 32
        text = buf.tobytes()
        try:
            out = np.fromstring(text, sep=' ', dtype=dtype)
        except ValueError:
            out = None
        if out is not None and np.issubdtype(dtype, np.integer):
            signs = np.flatnonzero((buf == 45) | (buf == 43)) + 1
            if signs.size and not ((buf[signs] >= 48) &
                                   (buf[signs] <= 57)).all():
                out = None  # a lone sign: NumPy reads it as 0
        if out is None:
            self._bad_token(tokens, dtype, what, slash)
        return out

    def _bad_token(self, tokens, dtype, what, slash):
        integer = np.issubdtype(dtype, np.integer)
        pattern = re.compile(r'[-+]?[0-9]+' if integer else
                             r'[-+]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)'
                             r'(?:[eE][-+]?[0-9]+)?|nan|inf|infinity)',
                             re.IGNORECASE)
        for index in tokens:
            token = self.token(index)
            parts = token.split('/') if slash else [token]
            if not all(pattern.fullmatch(p) for p in parts if p or
                       not slash):
                kind = 'integer' if integer else 'number'
                raise self.error(f'bad {kind} {token[:20]!r} in {what}',
                                 self.token_line[index])
        raise self.error(f'could not parse {what}')
