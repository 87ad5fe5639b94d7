# Copyright (c) mmfer4d contributors. All rights reserved.
"""The one exception type every mesh / landmark reader raises."""
import os
from typing import Optional


def display_path(path) -> str:
    """A printable form of a path (``str``, ``bytes`` or path-like).

    A name that is not valid UTF-8 keeps its readable parts; its bad bytes
    become U+FFFD, so logging the message never fails.
    """
    try:
        path = os.fspath(path)
    except TypeError:
        return repr(path)
    if isinstance(path, bytes):
        return path.decode('utf-8', 'replace')
    return path.encode('utf-8', 'surrogateescape').decode('utf-8', 'replace')


class MeshReadError(ValueError):
    """A face-scan file could not be read.

    Args:
        path (str | bytes | os.PathLike): The file that failed.
        reason (str): What is wrong with it.
        line (int, optional): 1-based line number where the problem is, for
            text formats. Defaults to None.
        offset (int, optional): Byte offset where the problem is, for binary
            formats. Defaults to None.

    Attributes:
        path (str): The file as a ``str`` that opens it again (``bytes``
            decoded with ``os.fsdecode``).
        reason (str): What is wrong.
        line (int | None): See above.
        offset (int | None): See above.
    """

    def __init__(self,
                 path,
                 reason: str,
                 line: Optional[int] = None,
                 offset: Optional[int] = None):
        try:
            fspath = os.fspath(path)
            self.path = os.fsdecode(fspath) if isinstance(fspath, bytes) \
                else fspath
        except TypeError:
            self.path = str(path)
        self.reason = reason
        self.line = line
        self.offset = offset
        where = ''
        if line is not None:
            where = f' (line {line})'
        elif offset is not None:
            where = f' (byte offset {offset})'
        super().__init__(f'{display_path(self.path)}: {reason}{where}')

    def __reduce__(self):
        # Picklable across DataLoader workers with all its fields.
        return (type(self), (self.path, self.reason, self.line, self.offset))
