# Copyright (c) mmfer4d contributors. All rights reserved.
"""Opening a file for a reader: path forms, size bounds, gzip, text."""
import os
import zlib
from typing import Tuple

from .errors import MeshReadError
from .limits import get_read_limits

GZIP_MAGIC = b'\x1f\x8b'
_CHUNK = 1 << 20


def as_path(path) -> str:
    """``str`` form of a ``str``, ``bytes`` or ``os.PathLike`` path.

    ``bytes`` (for example a name that is not valid UTF-8) are decoded with
    the file-system encoding and ``surrogateescape``, so the string opens
    the same file again.

    Raises:
        TypeError: If ``path`` is not a path.
    """
    path = os.fspath(path)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    return path


def read_bytes(path: str, what: str = 'file') -> bytes:
    """The content of ``path``, gunzipped when it starts with the gzip magic.

    Args:
        path (str): The file.
        what (str): What the file should be, for messages. Defaults to
            ``'file'``.

    Returns:
        bytes: The content, at most ``ReadLimits.max_bytes`` long.

    Raises:
        MeshReadError: If the file cannot be opened, is larger than the
            bound (before or after decompression), or its gzip stream is
            corrupt or truncated.
    """
    limit = get_read_limits().max_bytes
    try:
        with open(path, 'rb') as f:
            size = os.fstat(f.fileno()).st_size
            if size > limit:
                raise MeshReadError(
                    path, f'{what} is {size} bytes, over the read limit of '
                    f'{limit} bytes (ReadLimits.max_bytes, '
                    'MMFER4D_READ_MAX_MB)')
            raw = f.read(limit + 1)
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise MeshReadError(path, f'cannot open: {reason}') from None
    if len(raw) > limit:  # a file that grew, or a special file
        raise MeshReadError(path, f'{what} is over the read limit of {limit} '
                            'bytes (ReadLimits.max_bytes)')
    if raw[:2] == GZIP_MAGIC:
        raw = gunzip(path, raw, limit)
    return raw


def gunzip(path: str, raw: bytes, limit: int) -> bytes:
    """Decompress every gzip member of ``raw``, stopping past ``limit``.

    Raises:
        MeshReadError: If the stream is corrupt, truncated or decompresses
            to more than ``limit`` bytes.
    """
    out, total, data = [], 0, raw
    while data:
        dec = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            while data and not dec.eof:
                before = len(data)
                chunk = dec.decompress(data, _CHUNK)
                total += len(chunk)
                if total > limit:
                    raise MeshReadError(
                        path, f'gzip data decompresses to over {limit} '
                        'bytes (ReadLimits.max_bytes, MMFER4D_READ_MAX_MB); '
                        'a gzip bomb or a scan far larger than any face scan')
                out.append(chunk)
                data = dec.unconsumed_tail
                if not chunk and len(data) == before:
                    break  # no progress: a stalled stream (error below)
            tail = dec.flush() if not dec.eof else b''
        except zlib.error as err:
            raise MeshReadError(path, f'corrupt gzip data: {err}') from None
        total += len(tail)
        if total > limit:
            raise MeshReadError(path, f'gzip data decompresses to over '
                                f'{limit} bytes (ReadLimits.max_bytes)')
        out.append(tail)
        if not dec.eof:
            raise MeshReadError(path, 'truncated gzip data (the stream '
                                'ends before its end marker)')
        data = dec.unused_data
        # Trailing zero padding after the last member is allowed.
        if data and not data.strip(b'\x00'):
            break
        if data and data[:2] != GZIP_MAGIC:
            raise MeshReadError(path, 'garbage after the gzip data')
    return b''.join(out)


def decode_text(raw: bytes) -> Tuple[str, str]:
    """Text of ``raw``: UTF-8 (a BOM dropped), else Latin-1.

    Latin-1 maps every byte to one character, so a stray non-UTF-8 byte (a
    Latin-1 comment, an accented author name) neither fails the read nor
    moves positions and line numbers.

    Returns:
        tuple[str, str]: The text and the encoding used.
    """
    try:
        text = raw.decode('utf-8')
        encoding = 'utf-8'
    except UnicodeDecodeError:
        text = raw.decode('latin-1')
        encoding = 'latin-1'
    if text[:1] == '\ufeff':
        text = text[1:]
    return text, encoding


def read_text(path: str, what: str = 'file') -> str:
    """:func:`read_bytes` then :func:`decode_text`.

    Raises:
        MeshReadError: As :func:`read_bytes`; also if the file is empty or
            only white space, or holds NUL bytes (binary data).
    """
    raw = read_bytes(path, what)
    if not raw.strip():
        raise MeshReadError(path, 'empty file')
    nul = raw.find(b'\x00')
    if nul >= 0:
        raise MeshReadError(path, f'binary data (a NUL byte) in a text '
                            f'{what}', offset=nul)
    return decode_text(raw)[0]
