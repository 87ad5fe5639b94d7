# Copyright (c) mmfer4d contributors. All rights reserved.
"""4DME (Li et al., IEEE TAC 2022): 4D spontaneous micro-expressions."""
import csv
import glob
import os.path as osp
import warnings
from typing import List, Optional, Sequence

import numpy as np

from mmfer4d.registry import DATASETS
from ._file_index import frame_key, frame_number, parse_aus
from .base_fer_dataset import BaseFERDataset
from .categories import MICRO_EXPRESSIONS_5

#: Emotion spellings seen in micro-expression label sheets.
_ALIASES = dict(
    positive='positive',
    negative='negative',
    surprise='surprise',
    repression='repression',
    others='others',
    other='others')


@DATASETS.register_module()
class FourDMEDataset(BaseFERDataset):
    """4DME micro-expression clips, one sample per labelled clip.

    The 4D release's folder layout is not public, so it is configurable.
    ``ann_file`` (relative to ``data_root``) is a CSV with a header row
    naming at least these columns (case-insensitive, any order)::

        subject,clip,onset,apex,offset,emotion,AUs
        S01,clip01,12,20,31,Positive,AU6+AU12
        S01,clip02,5,14,25,Others,AU4
        ...

    ``onset`` / ``apex`` / ``offset`` are frame numbers as in the frame file
    names (empty or ``/`` when unknown); ``emotion`` is one of
    :data:`MICRO_EXPRESSIONS_5` (``other`` is read as ``others``); ``AUs``
    lists action units, every number being one (``AU4+AU7``, ``L12+R14``).
    ``frame_pattern`` (relative to ``data_root``, fields ``{subject}`` and
    ``{clip}``, glob wildcards allowed) finds a clip's frames; the
    default expects::

        data_root/
            S01/
                clip01/
                    0001.obj       one mesh per frame, sorted by number
                    ...

    Each data info holds ``frame_paths``, ``num_frames``, ``onset_frame``
    / ``apex_frame`` / ``offset_frame`` (indices into ``frame_paths`` of
    the frame with that number, or the nearest, when given), ``gt_label``,
    ``subject``, ``clip``, ``expression``, ``intensity`` (-1) and
    ``au_labels`` ``(A,)`` int8 over ``metainfo['au_names']``. Rows whose
    emotion is not a kept class or whose frames are missing are dropped
    (``num_dropped``, with a warning for the latter). Micro-expression work
    evaluates with leave-one-subject-out: ``num_folds='loso'``.

    Args:
        data_root (str): Root folder. Defaults to ''.
        ann_file (str): The label CSV. Defaults to ``'labels.csv'``.
        frame_pattern (str): Frame files of a clip. Defaults to
            ``'{subject}/{clip}/*.obj'``.
        au_names (Sequence[str], optional): AUs of ``au_labels``.
            Defaults to every AU in the CSV, sorted by number.
        classes (Sequence[str], optional): A subset of
            :data:`MICRO_EXPRESSIONS_5`. Defaults to all five.
        **kwargs: Protocol and mmengine arguments of
            :class:`BaseFERDataset`.

    Raises:
        FileNotFoundError: If ``data_root`` is not set or missing,
            ``ann_file`` does not exist, or no labelled clip has frames.
        ValueError: If it lacks a required column, or on an unknown class.
    """

    METAINFO = dict(classes=MICRO_EXPRESSIONS_5)
    REQUIRED = ('subject', 'clip', 'onset', 'apex', 'offset', 'emotion',
                'aus')

    def __init__(self,
                 data_root: str = '',
                 ann_file: str = 'labels.csv',
                 frame_pattern: str = '{subject}/{clip}/*.obj',
                 au_names: Optional[Sequence[str]] = None,
                 classes: Optional[Sequence[str]] = None,
                 **kwargs):
        self.frame_pattern = frame_pattern
        self.au_names = None if au_names is None else tuple(au_names)
        self.num_dropped = 0
        super().__init__(
            data_root=data_root,
            ann_file=ann_file,
            classes=None if classes is None else tuple(classes),
            **kwargs)

    @property
    def LAYOUT(self) -> str:
        return ('a label CSV (ann_file, columns subject, clip, onset, apex, '
                'offset, emotion, AUs) and the frames of its clips matching '
                f'frame_pattern {self.frame_pattern!r}, e.g. S01/clip01/'
                '0001.obj')

    def _read_rows(self) -> List[dict]:
        path = self.ann_file
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'{type(self).__name__}: label file {path!r} does not exist '
                f'under data_root {self.data_root!r}; expected '
                f'{self.LAYOUT}')
        with open(path, newline='', encoding='utf-8-sig') as f:
            reader = csv.DictReader(f)
            fields = {(h or '').strip().lower(): h
                      for h in reader.fieldnames or []}
            missing = [c for c in self.REQUIRED if c not in fields]
            if missing:
                raise ValueError(f'{path}: missing column(s) {missing}; '
                                 f'header is {reader.fieldnames}')
            return [{c: (row[fields[c]] or '').strip()
                     for c in self.REQUIRED} for row in reader]

    def load_raw_data_list(self) -> List[dict]:
        owner = type(self).__name__
        classes = self.metainfo['classes']
        unknown = set(classes) - set(MICRO_EXPRESSIONS_5)
        if unknown:
            raise ValueError(f'{owner}: unknown classes {sorted(unknown)}; '
                             f'4DME has {MICRO_EXPRESSIONS_5}')
        rows = self._read_rows()
        aus = [parse_aus(r['aus']) for r in rows]
        names = self.au_names or tuple(
            f'AU{a}' for a in sorted({a for v in aus for a in v}))
        self._metainfo['au_names'] = names
        column = {name: i for i, name in enumerate(names)}
        self.num_dropped = 0
        no_frames = []
        data_list = []
        for row, row_aus in zip(rows, aus):
            expression = _ALIASES.get(row['emotion'].lower())
            if expression not in classes:
                self.num_dropped += 1
                continue
            paths = glob.glob(
                osp.join(self.data_root,
                         self.frame_pattern.format(
                             subject=row['subject'], clip=row['clip'])))
            if not paths:
                self.num_dropped += 1
                no_frames.append(f"{row['subject']}/{row['clip']}")
                continue
            paths.sort(key=lambda p: frame_key(osp.basename(p)))
            labels = np.zeros(len(names), dtype=np.int8)
            for a in row_aus:
                if f'AU{a}' in column:
                    labels[column[f'AU{a}']] = 1
            info = dict(
                frame_paths=paths,
                num_frames=len(paths),
                gt_label=classes.index(expression),
                subject=row['subject'],
                clip=row['clip'],
                expression=expression,
                intensity=-1,
                au_labels=labels)
            numbers = np.array([frame_number(p) for p in paths])
            for key in ('onset', 'apex', 'offset'):
                index = _nearest(numbers, row[key])
                if index is not None:
                    info[f'{key}_frame'] = index
            data_list.append(info)
        if no_frames:
            warnings.warn(f'{owner}: no frames match {self.frame_pattern!r} '
                          f'for {len(no_frames)} labelled clips, e.g. '
                          f'{no_frames[:3]}; they are dropped')
        return data_list


def _nearest(numbers: np.ndarray, value: str) -> Optional[int]:
    """Index of the frame numbered ``value``, or of the nearest one."""
    try:
        target = int(float(value))
    except ValueError:
        return None
    return int(np.argmin(np.abs(numbers - target)))
