# Copyright (c) mmfer4d contributors. All rights reserved.
"""File-name indexing shared by the file-based data sets (no mesh reads)."""
import os
import os.path as osp
import re
from typing import List, Optional, Sequence, Tuple, Union

from .categories import EXPRESSIONS_6, EXPRESSIONS_7

_DIGITS = re.compile(r'\d+')


def resolve_classes(classes: Union[None, int, Sequence[str]]
                    ) -> Optional[Tuple[str, ...]]:
    """``6`` / ``7`` name the standard class lists; a sequence is kept."""
    if classes is None:
        return None
    if isinstance(classes, int):
        if classes not in (6, 7):
            raise ValueError(
                f'classes as an int must be 6 or 7 (with neutral), got '
                f'{classes}')
        return EXPRESSIONS_6 if classes == 6 else EXPRESSIONS_7
    return tuple(classes)


def list_dir(path: str, owner: str) -> List[os.DirEntry]:
    """``os.scandir`` as a list, with a clear error when ``path`` is absent.

    Raises:
        FileNotFoundError: If ``path`` is not a folder.
    """
    try:
        with os.scandir(path) as it:
            return list(it)
    except (FileNotFoundError, NotADirectoryError):
        raise FileNotFoundError(
            f'{owner}: folder {path!r} does not exist (check data_root)'
        ) from None


def frame_key(name: str):
    """Sort key putting ``2.wrl`` before ``10.wrl`` (last digit run)."""
    runs = _DIGITS.findall(name)
    return (int(runs[-1]) if runs else -1, name)


def frame_number(name: str) -> int:
    """The frame number of a file name: its last run of digits, or -1."""
    return frame_key(osp.basename(name))[0]


def parse_aus(text: str) -> List[int]:
    """AU numbers in a code such as ``'AU4+AU7'``, ``'L12+R14'``, ``'12L'``."""
    return sorted({int(d) for d in _DIGITS.findall(text or '')})


def pattern_regex(pattern: str, fields: dict) -> 're.Pattern':
    """A regex matching paths made from a ``str.format`` + glob pattern.

    ``{name}`` becomes a named group of the given sub-regex, ``*`` and ``?``
    match within one path component.
    """
    out, seen = [], set()
    for piece in re.split(r'(\{\w+\}|\*|\?)', pattern):
        if piece == '*':
            out.append('[^/]*')
        elif piece == '?':
            out.append('[^/]')
        elif piece.startswith('{') and piece.endswith('}'):
            name = piece[1:-1]
            if name not in fields:
                raise ValueError(f'unknown field {piece} in pattern '
                                 f'{pattern!r}; expected {sorted(fields)}')
            # A field repeated in the pattern must repeat its value.
            out.append(f'(?P={name})' if name in seen else
                       f'(?P<{name}>{fields[name]})')
            seen.add(name)
        else:
            out.append(re.escape(piece))
    return re.compile(''.join(out) + '$')
