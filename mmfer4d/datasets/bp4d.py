# Copyright (c) mmfer4d contributors. All rights reserved.
"""BP4D-Spontaneous (Zhang et al., IVC 2014): 41 subjects, 8 tasks."""
import glob
import os.path as osp
import warnings
from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmfer4d.registry import DATASETS
from ._file_index import frame_key, frame_number, pattern_regex
from .base_fer_dataset import BaseFERDataset

#: The emotion each BP4D task elicits (Zhang et al. 2014, Table 1); T3
#: (startle / surprise) maps to surprise.
BP4D_TASKS = dict(
    T1='happiness',
    T2='sadness',
    T3='surprise',
    T4='embarrassment',
    T5='fear',
    T6='pain',
    T7='anger',
    T8='disgust')
#: The eight task emotions, in task order.
BP4D_EMOTIONS = tuple(BP4D_TASKS.values())
#: The 12 AUs of the usual BP4D AU-detection protocol (FERA 2015 and the
#: deep AU-detection papers: AUs 1, 2, 4, 6, 7, 10, 12, 14, 15, 17, 23, 24).
BP4D_AU_NAMES = ('AU1', 'AU2', 'AU4', 'AU6', 'AU7', 'AU10', 'AU12', 'AU14',
                 'AU15', 'AU17', 'AU23', 'AU24')


@DATASETS.register_module()
class BP4DDataset(BaseFERDataset):
    """BP4D-Spontaneous 3D sequences, one sample per subject and task.

    The 3D release's folder layout is not public, so it is configurable.
    ``frame_pattern`` is a path relative to ``data_root`` with the fields
    ``{subject}`` and ``{task}`` (``T1``-``T8``) and glob wildcards in the
    file part, e.g. the default::

        data_root/
            F001/                  subjects F001-F023, M001-M018
                T1/                tasks T1-T8
                    0001.obj       one mesh per frame (any format the
                    0002.obj       loader reads), sorted by number
                    ...

    ``'{subject}_{task}/*.wrl'`` or ``'{subject}/{task}/mesh_*.obj'`` work
    the same way. Task ``Tk`` is labelled with the emotion it elicits
    (:data:`BP4D_TASKS`: T1 happiness, T2 sadness, T3 surprise/startle,
    T4 embarrassment, T5 fear, T6 pain, T7 anger, T8 disgust); with
    ``classes`` a subset, other tasks are dropped.

    **AU labels are per frame.** The data set's FACS coding comes as one
    occurrence file per sequence, found by ``au_pattern`` (as shipped:
    ``'AUCoding/AU_OCC/{subject}_{task}.csv'``)::

        0,1,2,3,4,5,6,7,8,9,10,11,12,...
        115,0,0,9,1,0,1,0,9,0,1,9,1,...
        116,0,0,9,1,0,1,0,9,0,1,9,1,...

    A header row names the columns (the first holds the frame numbers, its
    text is not used; the others are AU numbers, read by name, so any AU
    order or subset works), then one row per coded frame: the frame number
    and, per AU, 0 (absent), 1 (present) or 9 (not coded). Only a segment
    of each task is coded, so rows start at the segment's first frame
    (the readers of AU repositories pad the frames before and after it as
    unknown, as here). A mesh
    frame is matched to its row by the number in its file name (the last
    run of digits, as in ``2440.obj``). Each sequence's data info holds
    ``frame_au_labels`` ``(n, A)`` int8 over ``metainfo['au_names']``: 1,
    0, or -1 where the AU is not coded (a 9, or a frame without a row);
    :class:`SampleFrames` passes the rows of the frames it picks on as
    ``au_labels`` ``(T, A)``, which :class:`PackMultiViewInputs` packs as
    ``gt_au`` and :class:`AUDetectionMetric` scores frame by frame
    (negative labels left out). The 12 AUs of the AU-detection literature
    (:data:`BP4D_AU_NAMES`) are the default.

    Each data info holds ``frame_paths``, ``num_frames``, ``gt_label``,
    ``subject``, ``task``, ``expression``, ``intensity`` (-1), ``gender``
    (``'F'`` / ``'M'``, from the subject id) and, when ``au_pattern`` is
    set and the sequence's coding file exists, ``frame_au_labels`` and
    ``num_coded_frames`` (sequences without a coding file are counted in
    ``num_missing_au`` and warned about).

    Args:
        data_root (str): Root folder. Defaults to ''.
        frame_pattern (str): Frame files per subject and task, relative to
            ``data_root``. Defaults to ``'{subject}/{task}/*.obj'``.
        au_pattern (str, optional): AU occurrence CSV per subject and task,
            relative to ``data_root``. Defaults to None (no AU labels).
        au_names (Sequence[str]): AUs of the label columns.
            Defaults to :data:`BP4D_AU_NAMES` (12 AUs).
        classes (Sequence[str], optional): A subset of
            :data:`BP4D_EMOTIONS`. Defaults to all eight.
        min_frames (int): Sequences with fewer frames are dropped.
            Defaults to 1.
        **kwargs: Protocol and mmengine arguments of
            :class:`BaseFERDataset`.

    Raises:
        ValueError: On an unknown class, a pattern field other than
            ``{subject}`` / ``{task}``, or an AU coding file that lacks an
            AU of ``au_names``, has a row of the wrong length or a code
            other than 0, 1 and 9 (the message names the file).
        FileNotFoundError: If ``data_root`` is not set, missing, or holds
            no frame matching ``frame_pattern``.
    """

    METAINFO = dict(classes=BP4D_EMOTIONS)

    def __init__(self,
                 data_root: str = '',
                 frame_pattern: str = '{subject}/{task}/*.obj',
                 au_pattern: Optional[str] = None,
                 au_names: Sequence[str] = BP4D_AU_NAMES,
                 classes: Optional[Sequence[str]] = None,
                 min_frames: int = 1,
                 **kwargs):
        self.frame_pattern = frame_pattern
        self.au_pattern = au_pattern
        self.au_names = tuple(au_names)
        self.min_frames = min_frames
        self.num_missing_au = 0
        super().__init__(
            data_root=data_root,
            classes=None if classes is None else tuple(classes),
            **kwargs)

    @property
    def LAYOUT(self) -> str:
        return (f'frame files matching frame_pattern {self.frame_pattern!r} '
                '(fields {subject}, {task} = T1-T8), e.g. F001/T1/0001.obj')

    def load_raw_data_list(self) -> List[dict]:
        owner = type(self).__name__
        classes = self.metainfo['classes']
        unknown = set(classes) - set(BP4D_EMOTIONS)
        if unknown:
            raise ValueError(f'{owner}: unknown classes {sorted(unknown)}; '
                             f'BP4D has {BP4D_EMOTIONS}')
        regex = pattern_regex(self.frame_pattern,
                              dict(subject=r'[^/]+', task=r'[Tt]\d+'))
        root = self.data_root
        found = glob.glob(
            osp.join(root, self.frame_pattern.format(subject='*', task='*')))
        groups: Dict[tuple, list] = defaultdict(list)
        for path in found:
            rel = osp.relpath(path, root).replace(osp.sep, '/')
            match = regex.match(rel)
            if match is None:
                continue
            groups[(match['subject'], match['task'].upper())].append(path)
        self.num_missing_au = 0
        data_list = []
        for (subject, task), paths in sorted(groups.items()):
            expression = BP4D_TASKS.get(task)
            if expression not in classes or len(paths) < self.min_frames:
                continue
            paths.sort(key=lambda p: frame_key(osp.basename(p)))
            info = dict(
                frame_paths=paths,
                num_frames=len(paths),
                gt_label=classes.index(expression),
                subject=subject,
                task=task,
                expression=expression,
                intensity=-1,
                gender=subject[:1].upper())
            if self.au_pattern is not None:
                self._add_au_labels(info)
            data_list.append(info)
        if self.au_pattern is not None:
            self._metainfo['au_names'] = self.au_names
            if self.num_missing_au:
                warnings.warn(f'{owner}: {self.num_missing_au} sequences have '
                              f'no AU coding file ({self.au_pattern!r})')
        return data_list

    def _add_au_labels(self, info: dict):
        path = osp.join(
            self.data_root,
            self.au_pattern.format(subject=info['subject'], task=info['task']))
        if not osp.isfile(path):
            self.num_missing_au += 1
            return
        frames, codes = read_au_occurrence(path, self.au_names)
        row_of = {int(f): i for i, f in enumerate(frames)}
        labels = np.full((info['num_frames'], len(self.au_names)), -1,
                         dtype=np.int8)
        coded = 0
        for k, frame_path in enumerate(info['frame_paths']):
            row = row_of.get(frame_number(frame_path))
            if row is not None:
                labels[k] = codes[row]
                coded += 1
        info['frame_au_labels'] = labels
        info['num_coded_frames'] = coded


def read_au_occurrence(path: str, au_names: Sequence[str]
                       ) -> Tuple[np.ndarray, np.ndarray]:
    """Read a BP4D AU occurrence file (``AUCoding/AU_OCC/F001_T1.csv``).

    Args:
        path (str): The CSV: a header row (frame column, then AU numbers),
            then one row per coded frame with the frame number and a code
            per AU: 0 absent, 1 present, 9 not coded.
        au_names (Sequence[str]): The AUs to return (``'AU12'``).

    Returns:
        tuple[np.ndarray, np.ndarray]: Frame numbers ``(R,)`` int64 and
        labels ``(R, A)`` int8: 1, 0, or -1 where the code is 9.

    Raises:
        ValueError: If an AU of ``au_names`` has no column, a row's length
            differs from the header's, a value is not an integer, or a code
            is not 0, 1 or 9.
    """
    with open(path, newline='', encoding='utf-8-sig') as f:
        lines = [line.strip() for line in f if line.strip()]
    if not lines:
        raise ValueError(f'{path}: empty AU coding file')
    header = [h.strip() for h in lines[0].split(',')]
    column = {f'AU{h}' if h.isdigit() else h: i
              for i, h in enumerate(header) if i > 0}
    missing = [a for a in au_names if a not in column]
    if missing:
        raise ValueError(f'{path}: no column for {missing} (header '
                         f'{header[:8]}...)')
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        cells = line.split(',')
        if len(cells) != len(header):
            raise ValueError(f'{path}: line {number} has {len(cells)} '
                             f'values, the header {len(header)}')
        try:
            rows.append([int(float(c)) for c in cells])
        except ValueError:
            raise ValueError(f'{path}: line {number} holds a value that is '
                             f'not a number: {line[:60]!r}') from None
    table = np.array(rows, dtype=np.int64).reshape(-1, len(header))
    codes = table[:, [column[a] for a in au_names]]
    bad = ~np.isin(codes, (0, 1, 9))
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise ValueError(f'{path}: line {r + 2}: code {codes[r, c]} for '
                         f'{au_names[c]} (expected 0, 1 or 9)')
    labels = np.where(codes == 9, -1, codes).astype(np.int8)
    return table[:, 0], labels
