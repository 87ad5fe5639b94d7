# Copyright (c) mmfer4d contributors. All rights reserved.
"""BP4D-Spontaneous (Zhang et al., IVC 2014): 41 subjects, 8 tasks."""
import glob
import os.path as osp
import warnings
from collections import defaultdict
from typing import Dict, List, Optional, Sequence

import numpy as np

from mmfer4d.registry import DATASETS
from ._file_index import frame_key, pattern_regex
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
#: The 12 AUs of the usual BP4D AU-detection protocol.
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

    Optional AU occurrence labels come from the official frame-level
    coding files, one per sequence, found by ``au_pattern`` (e.g.
    ``'AUCoding/AU_OCC/{subject}_{task}.csv'``): a header row whose first
    column is the frame number and whose other columns are AU numbers
    (``1,2,4,...``), then one row per coded frame with 0 (absent), 1
    (present) or 9 (not coded). A sequence's ``au_labels`` has 1 for an AU
    present in any coded frame of it.

    Each data info holds ``frame_paths``, ``num_frames``, ``gt_label``,
    ``subject``, ``task``, ``expression``, ``intensity`` (-1), and
    ``au_labels`` ``(A,)`` int8 over ``metainfo['au_names']`` when
    ``au_pattern`` is set and the sequence's coding file exists (sequences
    without one are counted in ``num_missing_au`` and warned about).

    Args:
        data_root (str): Root folder. Defaults to ''.
        frame_pattern (str): Frame files per subject and task, relative to
            ``data_root``. Defaults to ``'{subject}/{task}/*.obj'``.
        au_pattern (str, optional): AU coding CSV per subject and task,
            relative to ``data_root``. Defaults to None (no AU labels).
        au_names (Sequence[str]): AUs of ``au_labels``.
            Defaults to :data:`BP4D_AU_NAMES` (12 AUs).
        classes (Sequence[str], optional): A subset of
            :data:`BP4D_EMOTIONS`. Defaults to all eight.
        min_frames (int): Sequences with fewer frames are dropped.
            Defaults to 1.
        **kwargs: Protocol and mmengine arguments of
            :class:`BaseFERDataset`.

    Raises:
        ValueError: On an unknown class, a pattern field other than
            ``{subject}`` / ``{task}``, or an AU coding file lacking an AU
            of ``au_names``.
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

    def load_raw_data_list(self) -> List[dict]:
        owner = type(self).__name__
        classes = self.metainfo['classes']
        unknown = set(classes) - set(BP4D_EMOTIONS)
        if unknown:
            raise ValueError(f'{owner}: unknown classes {sorted(unknown)}; '
                             f'BP4D has {BP4D_EMOTIONS}')
        regex = pattern_regex(self.frame_pattern,
                              dict(subject=r'[^/]+', task=r'[Tt]\d+'))
        root = self.data_root or osp.curdir
        if not osp.isdir(root):
            raise FileNotFoundError(
                f'{owner}: folder {root!r} does not exist (check data_root)')
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
                intensity=-1)
            if self.au_pattern is not None:
                labels = self._au_labels(subject, task)
                if labels is None:
                    self.num_missing_au += 1
                else:
                    info['au_labels'] = labels
            data_list.append(info)
        if self.au_pattern is not None:
            self._metainfo['au_names'] = self.au_names
            if self.num_missing_au:
                warnings.warn(f'{owner}: {self.num_missing_au} sequences have '
                              f'no AU coding file ({self.au_pattern!r})')
        return data_list

    def _au_labels(self, subject: str, task: str) -> Optional[np.ndarray]:
        path = osp.join(self.data_root,
                        self.au_pattern.format(subject=subject, task=task))
        if not osp.isfile(path):
            return None
        with open(path) as f:
            header = [h.strip() for h in f.readline().split(',')]
        try:
            table = np.loadtxt(
                path, delimiter=',', skiprows=1, ndmin=2, dtype=np.float64)
        except ValueError as err:
            raise ValueError(f'{path}: bad AU coding table ({err})') from None
        column = {f'AU{h}' if h.isdigit() else h: i
                  for i, h in enumerate(header)}
        missing = [a for a in self.au_names if a not in column]
        if missing:
            raise ValueError(f'{path}: no column for {missing} (header '
                             f'{header[:6]}...)')
        cols = [column[a] for a in self.au_names]
        return (table[:, cols] == 1).any(axis=0).astype(np.int8)
