# Copyright (c) mmfer4d contributors. All rights reserved.
"""2D face images with 68 landmarks and per-frame AU labels (BP4D's 2D
frames, DISFA), the one-view input of AU models such as MF²."""
import glob
import os.path as osp
from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmfer4d.registry import DATASETS
from ._file_index import frame_number, pattern_regex
from .base_fer_dataset import BaseFERDataset
from .bp4d import BP4D_AU_NAMES, BP4D_TASKS, read_au_occurrence

#: The 8 AUs of the usual DISFA protocol (AUs 1, 2, 4, 6, 9, 12, 25, 26).
DISFA_AU_NAMES = ('AU1', 'AU2', 'AU4', 'AU6', 'AU9', 'AU12', 'AU25', 'AU26')

#: Default patterns per layout (relative to ``data_root``).
LAYOUTS = dict(
    bp4d=dict(
        img_pattern='{subject}/{task}/*.jpg',
        landmark_pattern='{subject}/{task}/{stem}.pts',
        au_pattern='AUCoding/AU_OCC/{subject}_{task}.csv'),
    disfa=dict(
        img_pattern='{subject}/*.jpg',
        landmark_pattern='{subject}/{stem}.pts',
        au_pattern='ActionUnit_Labels/{subject}/{subject}_{au}.txt'),
)


def read_pts(path: str) -> np.ndarray:
    """Read an iBUG ``.pts`` landmark file (300-W format).

    The format (Sagonas et al., "300 Faces in-the-Wild Challenge", 2013)::

        version: 1
        n_points:  68
        {
        x y
        ...
        }

    Returns:
        np.ndarray: ``(n_points, 2)`` float32 pixel coordinates.

    Raises:
        ValueError: If the header, braces, point count or a coordinate is
            wrong (the message names the file and line).
    """
    with open(path, encoding='utf-8-sig') as f:
        lines = [ln.strip() for ln in f]
    lines = [ln for ln in lines if ln]
    count = None
    i = 0
    while i < len(lines) and lines[i] != '{':
        key, _, value = lines[i].partition(':')
        if key.strip() == 'n_points':
            try:
                count = int(value)
            except ValueError:
                raise ValueError(f'{path}: n_points {value.strip()!r} is not '
                                 'an integer') from None
        i += 1
    if count is None or i == len(lines):
        raise ValueError(f'{path}: not an iBUG .pts file (needs n_points: '
                         'and a { ... } block)')
    try:
        end = lines.index('}', i)
    except ValueError:
        raise ValueError(f'{path}: no closing "}}"') from None
    pts = []
    for k, line in enumerate(lines[i + 1:end]):
        cells = line.split()
        try:
            if len(cells) != 2:
                raise ValueError
            pts.append([float(cells[0]), float(cells[1])])
        except ValueError:
            raise ValueError(f'{path}: point {k + 1} {line!r} is not two '
                             'numbers') from None
    if len(pts) != count:
        raise ValueError(f'{path}: n_points is {count} but {len(pts)} points '
                         'are listed')
    out = np.asarray(pts, np.float32).reshape(-1, 2)
    if not np.isfinite(out).all():
        raise ValueError(f'{path}: landmarks are not finite')
    return out


def read_disfa_au(path: str) -> Dict[int, int]:
    """Read a DISFA AU intensity file (``SN001_au12.txt``): one line
    ``frame,intensity`` per video frame, intensity 0-5.

    Raises:
        ValueError: For a line that is not two integers or an intensity
            outside 0-5 (file and line named).
    """
    out = {}
    with open(path, encoding='utf-8-sig') as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            cells = line.replace(' ', '').split(',')
            try:
                if len(cells) != 2:
                    raise ValueError
                frame, level = int(cells[0]), int(float(cells[1]))
            except ValueError:
                raise ValueError(f'{path}: line {number} {line!r} is not '
                                 '"frame,intensity"') from None
            if not 0 <= level <= 5:
                raise ValueError(f'{path}: line {number}: intensity {level} '
                                 'outside 0-5')
            out[frame] = level
    return out


@DATASETS.register_module()
class FaceImageAUDataset(BaseFERDataset):
    """Face images (video frames) with 68 landmarks and per-frame AU labels.

    One sample per coded frame. Layouts (``layout``, each pattern relative
    to ``data_root`` and overridable):

    - ``'bp4d'``, BP4D-Spontaneous 2D frames (Zhang et al., IVC 2014):
      ``{subject}/{task}/*.jpg`` (e.g. ``F001/T1/2440.jpg``), the AU
      occurrence files as shipped (``AUCoding/AU_OCC/{subject}_{task}.csv``,
      read by :func:`read_au_occurrence`: 0, 1, 9 = unknown, kept as -1),
      the 12 AUs of :data:`BP4D_AU_NAMES`; ``gt_label`` is the task's
      emotion (:data:`BP4D_TASKS`); frames without a coding row are left
      out.
    - ``'disfa'``, DISFA (Mavadati et al., IEEE TAC 2013), frames extracted
      from the videos: ``{subject}/*.jpg`` (e.g. ``SN001/0001.jpg``), the
      AU files as shipped (``ActionUnit_Labels/{subject}/{subject}_au1.txt``,
      ``frame,intensity`` 0-5); an AU occurs at intensity >=
      ``occurrence_threshold`` (2, as the AU detection literature uses for
      DISFA, e.g. Shao et al., "JAA-Net", ECCV 2018); ``au_intensities``
      hold the 0-5 level; the 8 AUs of :data:`DISFA_AU_NAMES`; no emotion
      (``gt_label`` -1).

    The landmarks, 68 points in the Multi-PIE / iBUG layout, are one iBUG
    ``.pts`` file per image (``landmark_pattern`` with ``{stem}``, the
    image's name without extension; neither data set ships 68 points, so
    they come from a landmark detector). The frame number of an image is
    the last run of digits in its name.

    Data info keys: ``img_path``, ``landmark_path``, ``subject``,
    ``frame``, ``gt_label``, ``au_labels`` ``(A,)`` int8 (1, 0, -1),
    ``au_intensities`` (DISFA), ``task`` (BP4D), ``expression``. Load with
    :class:`LoadFaceImageAU`.

    Args:
        data_root (str): Root folder.
        layout (str): ``'bp4d'`` or ``'disfa'``. Defaults to ``'bp4d'``.
        img_pattern, landmark_pattern, au_pattern (str, optional):
            Override the layout's (fields ``{subject}``, ``{task}`` (BP4D),
            ``{stem}`` (landmarks), ``{au}`` as ``au12`` (DISFA)).
        au_names (Sequence[str], optional): Defaults to the layout's.
        occurrence_threshold (int): DISFA intensity at which an AU occurs.
            Defaults to 2.
        **kwargs: Protocol arguments of :class:`BaseFERDataset`
            (``fold``, ``num_folds``, ``split``, ``subjects``, ...).

    Raises:
        ValueError: For an unknown layout, a malformed label file (named).
        FileNotFoundError: If ``data_root`` holds no image matching the
            pattern, or an image has no landmark file (named).
    """

    METAINFO = dict(classes=tuple(BP4D_TASKS.values()))

    def __init__(self,
                 data_root: str = '',
                 layout: str = 'bp4d',
                 img_pattern: Optional[str] = None,
                 landmark_pattern: Optional[str] = None,
                 au_pattern: Optional[str] = None,
                 au_names: Optional[Sequence[str]] = None,
                 occurrence_threshold: int = 2,
                 classes: Optional[Sequence[str]] = None,
                 **kwargs):
        if layout not in LAYOUTS:
            raise ValueError(f'FaceImageAUDataset: layout must be one of '
                             f'{tuple(LAYOUTS)}, got {layout!r}')
        self.layout = layout
        defaults = LAYOUTS[layout]
        self.img_pattern = img_pattern or defaults['img_pattern']
        self.landmark_pattern = landmark_pattern or \
            defaults['landmark_pattern']
        self.au_pattern = au_pattern or defaults['au_pattern']
        self.au_names = tuple(au_names or (
            BP4D_AU_NAMES if layout == 'bp4d' else DISFA_AU_NAMES))
        self.occurrence_threshold = int(occurrence_threshold)
        if layout == 'disfa' and classes is None:
            classes = ('unknown', )
        super().__init__(data_root=data_root, classes=classes, **kwargs)

    @property
    def LAYOUT(self) -> str:
        return (f'{self.layout} face images matching {self.img_pattern!r}, '
                f'landmarks {self.landmark_pattern!r}, AU labels '
                f'{self.au_pattern!r}')

    def _images(self) -> Dict[Tuple[str, str], List[str]]:
        fields = dict(subject=r'[^/]+', task=r'[Tt]\d+')
        regex = pattern_regex(self.img_pattern, fields)
        found = glob.glob(osp.join(
            self.data_root, self.img_pattern.format(subject='*', task='*')))
        groups: Dict[Tuple[str, str], List[str]] = defaultdict(list)
        for path in found:
            rel = osp.relpath(path, self.data_root).replace(osp.sep, '/')
            m = regex.match(rel)
            if m is None:
                continue
            task = m.groupdict().get('task')
            groups[(m['subject'], task.upper() if task else '')].append(path)
        return groups

    def _landmark_path(self, img_path: str, subject: str, task: str) -> str:
        stem = osp.splitext(osp.basename(img_path))[0]
        path = osp.join(self.data_root, self.landmark_pattern.format(
            subject=subject, task=task, stem=stem))
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'FaceImageAUDataset: no landmark file {path} for image '
                f'{img_path} (landmark_pattern {self.landmark_pattern!r})')
        return path

    def _disfa_labels(self, subject: str):
        levels = []
        for au in self.au_names:
            path = osp.join(self.data_root, self.au_pattern.format(
                subject=subject, au=au.lower()))
            if not osp.isfile(path):
                raise FileNotFoundError(
                    f'FaceImageAUDataset: no DISFA AU file {path} '
                    f'(au_pattern {self.au_pattern!r})')
            levels.append(read_disfa_au(path))
        return levels

    def load_raw_data_list(self) -> List[dict]:
        classes = list(self.metainfo['classes'])
        data_list = []
        for (subject, task), paths in sorted(self._images().items()):
            if self.layout == 'bp4d':
                expression = BP4D_TASKS.get(task)
                if expression not in classes:
                    continue
                au_path = osp.join(self.data_root, self.au_pattern.format(
                    subject=subject, task=task))
                if not osp.isfile(au_path):
                    continue
                frames, codes = read_au_occurrence(au_path, self.au_names)
                row_of = {int(f): i for i, f in enumerate(frames)}
            else:
                expression = None
                levels = self._disfa_labels(subject)
            for img in sorted(paths, key=frame_number):
                frame = frame_number(img)
                info = dict(img_path=img, subject=subject, frame=frame,
                            intensity=-1)
                if self.layout == 'bp4d':
                    row = row_of.get(frame)
                    if row is None:
                        continue
                    info.update(task=task, expression=expression,
                                gt_label=classes.index(expression),
                                au_labels=codes[row].copy())
                else:
                    if any(frame not in lv for lv in levels):
                        continue
                    ints = np.array([lv[frame] for lv in levels], np.float32)
                    info.update(
                        gt_label=-1,
                        au_intensities=ints,
                        au_labels=(ints >= self.occurrence_threshold).astype(
                            np.int8))
                info['landmark_path'] = self._landmark_path(
                    img, subject, task)
                data_list.append(info)
        self._metainfo['au_names'] = self.au_names
        return data_list
