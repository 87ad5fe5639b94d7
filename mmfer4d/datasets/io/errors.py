# Copyright (c) mmfer4d contributors. All rights reserved.
"""The one exception type every mesh / landmark reader raises."""
from typing import Optional


class MeshReadError(ValueError):
    """A face-scan file could not be read.

    Args:
        path (str): The file that failed.
        reason (str): What is wrong with it.
        line (int, optional): 1-based line number where the problem is, for
            text formats. Defaults to None.
        offset (int, optional): Byte offset where the problem is, for binary
            formats. Defaults to None.
    """

    def __init__(self,
                 path,
                 reason: str,
                 line: Optional[int] = None,
                 offset: Optional[int] = None):
        self.path = str(path)
        self.reason = reason
        self.line = line
        self.offset = offset
        where = ''
        if line is not None:
            where = f' (line {line})'
        elif offset is not None:
            where = f' (byte offset {offset})'
        super().__init__(f'{self.path}: {reason}{where}')
