# Copyright (c) mmfer4d contributors. All rights reserved.
"""Bosphorus 3D face database (Savran et al., BIOID 2008): 105 subjects."""
import os.path as osp
import re
from typing import List, Optional, Sequence, Union

import numpy as np

from mmfer4d.registry import DATASETS
from ._file_index import list_dir, parse_aus, resolve_classes
from .base_fer_dataset import BaseFERDataset
from .categories import EXPRESSIONS_6, EXPRESSIONS_7

_SUBJECT = re.compile(r'^bs\d{3}$')
_SCAN = re.compile(r'^(?P<subject>bs\d{3})_(?P<cat>[A-Z]+)_(?P<code>\w+?)_'
                   r'(?P<index>\d+)\.(?i:bnt)$')


@DATASETS.register_module()
class BosphorusDataset(BaseFERDataset):
    """Bosphorus 3D face database, emotion and action-unit scans.

    Expected layout (as shipped), one folder per subject::

        data_root/
            bs000/                       subjects bs000-bs104
                bs000_E_HAPPY_0.bnt      range grid (see read_bnt)
                bs000_E_HAPPY_0.lm3      3D landmarks (optional)
                bs000_E_HAPPY_0.png      texture (read by the loader)
                bs000_N_N_0.bnt          neutral
                bs000_LFAU_12L_0.bnt     lower-face action unit(s)
                bs000_UFAU_2_0.bnt       upper-face action unit(s)
                bs000_CAU_A22A25_0.bnt   combined action units
                bs000_YR_R10_0.bnt       pose: yaw (YR), pitch (PR),
                bs000_O_EYE_0.bnt        cross rotation (CR); occlusion (O)

    A scan name is ``{subject}_{category}_{code}_{index}``. Emotions are
    ``E_{ANGER,DISGUST,FEAR,HAPPY,SADNESS,SURPRISE}``, neutral ``N_N``.
    ``LFAU_*``, ``UFAU_*`` and ``CAU_*`` scans pose action units: every
    number in the code is an AU (``12L`` is AU12 on the left,
    ``A22A25`` is AU22 + AU25). Indexing lists folders only.

    Each data info holds ``mesh_path``, ``landmark_path`` (when the
    ``.lm3`` exists and ``with_landmarks``), ``gt_label``, ``subject``,
    ``expression``, ``intensity`` (0 neutral, -1 unknown), ``category``
    and ``code``. Scans outside the expression classes (AU, pose,
    occlusion scans) have ``gt_label = -1`` and ``expression = 'none'``:
    a classification loss must ignore them. When AU scans are included,
    AU scans carry ``au_labels`` ``(A,)`` int8 over
    ``metainfo['au_names']``, and so do neutral scans (all zero: no AU is
    active on a neutral face); emotion scans have no AU annotation and
    carry none.

    Args:
        data_root (str): The folder holding the subject folders.
            Defaults to ''.
        classes (int | Sequence[str], optional): ``6``, ``7`` (adds
            ``'neutral'``, keeping ``N_N`` scans) or a subset of
            :data:`EXPRESSIONS_7`. Defaults to 6 classes.
        include_au_scans (bool): Keep ``LFAU``/``UFAU``/``CAU`` scans.
            Defaults to False.
        include_pose (bool): Keep ``YR``/``PR``/``CR`` scans.
            Defaults to False.
        include_occlusion (bool): Keep ``O`` scans. Defaults to False.
        au_names (Sequence[str], optional): AU names (``'AU12'``) of the
            ``au_labels`` vector; AUs of a scan outside it are ignored.
            Defaults to every AU posed in the kept scans, sorted.
        with_landmarks (bool): Give ``landmark_path`` when an ``.lm3`` of
            the same stem exists. Defaults to True.
        **kwargs: Protocol and mmengine arguments of
            :class:`BaseFERDataset`.

    Raises:
        FileNotFoundError: If ``data_root`` is not set, does not exist, or
            holds no scan in the layout above.
        ValueError: On a class Bosphorus does not have.
    """

    METAINFO = dict(classes=EXPRESSIONS_6)
    LAYOUT = ('subject folders bs000-bs104, each holding scans named '
              '{subject}_{category}_{code}_{index}.bnt, e.g. '
              'bs000/bs000_E_HAPPY_0.bnt')
    EMOTIONS = dict(
        ANGER='anger',
        DISGUST='disgust',
        FEAR='fear',
        HAPPY='happiness',
        SADNESS='sadness',
        SURPRISE='surprise')
    AU_CATEGORIES = ('LFAU', 'UFAU', 'CAU')
    POSE_CATEGORIES = ('YR', 'PR', 'CR')
    OCCLUSION_CATEGORIES = ('O', )

    def __init__(self,
                 data_root: str = '',
                 classes: Union[None, int, Sequence[str]] = None,
                 include_au_scans: bool = False,
                 include_pose: bool = False,
                 include_occlusion: bool = False,
                 au_names: Optional[Sequence[str]] = None,
                 with_landmarks: bool = True,
                 **kwargs):
        self.include_au_scans = include_au_scans
        self.include_pose = include_pose
        self.include_occlusion = include_occlusion
        self.au_names = None if au_names is None else tuple(au_names)
        self.with_landmarks = with_landmarks
        super().__init__(
            data_root=data_root, classes=resolve_classes(classes), **kwargs)

    def _categories(self):
        cats = {'E', 'N'}
        if self.include_au_scans:
            cats.update(self.AU_CATEGORIES)
        if self.include_pose:
            cats.update(self.POSE_CATEGORIES)
        if self.include_occlusion:
            cats.update(self.OCCLUSION_CATEGORIES)
        return cats

    def load_raw_data_list(self) -> List[dict]:
        owner = type(self).__name__
        classes = self.metainfo['classes']
        unknown = set(classes) - set(EXPRESSIONS_7)
        if unknown:
            raise ValueError(f'{owner}: unknown classes {sorted(unknown)}; '
                             f'Bosphorus has {EXPRESSIONS_7}')
        cats = self._categories()
        data_list = []
        for subj in list_dir(self.data_root, owner):
            if not (_SUBJECT.match(subj.name) and subj.is_dir()):
                continue
            names = {e.name for e in list_dir(subj.path, owner)}
            for name in names:
                match = _SCAN.match(name)
                if match is None or match['cat'] not in cats:
                    continue
                info = self._parse(match, classes)
                if info is None:
                    continue
                info['mesh_path'] = osp.join(subj.path, name)
                lm3 = name[:-4] + '.lm3'
                if self.with_landmarks and lm3 in names:
                    info['landmark_path'] = osp.join(subj.path, lm3)
                data_list.append(info)
        data_list.sort(key=lambda x: (x['subject'], x['category'], x['code'],
                                      x['mesh_path']))
        if self.include_au_scans:
            self._add_au_labels(data_list)
        return data_list

    def _parse(self, match, classes) -> Optional[dict]:
        cat, code = match['cat'], match['code']
        if cat == 'E':
            expression = self.EMOTIONS.get(code)
            intensity = -1
        elif cat == 'N':
            expression, intensity = 'neutral', 0
        else:
            expression, intensity = 'none', -1
        if cat in ('E', 'N'):
            if expression not in classes:
                return None
            label = classes.index(expression)
        else:
            label = -1
        return dict(
            gt_label=label,
            subject=match['subject'],
            expression=expression,
            intensity=intensity,
            category=cat,
            code=code)

    def _add_au_labels(self, data_list: List[dict]):
        au_scans = [
            x for x in data_list if x['category'] in self.AU_CATEGORIES
        ]
        aus = {id(x): parse_aus(x['code']) for x in au_scans}
        names = self.au_names or tuple(
            f'AU{a}' for a in sorted({a for v in aus.values() for a in v}))
        self._metainfo['au_names'] = names
        column = {name: i for i, name in enumerate(names)}
        for info in data_list:
            if info['category'] in self.AU_CATEGORIES:
                labels = np.zeros(len(names), dtype=np.int8)
                for a in aus[id(info)]:
                    if f'AU{a}' in column:
                        labels[column[f'AU{a}']] = 1
                info['au_labels'] = labels
            elif info['category'] == 'N':
                info['au_labels'] = np.zeros(len(names), dtype=np.int8)
