# Copyright (c) mmfer4d contributors. All rights reserved.
"""BU-3DFE (Yin et al., FG 2006): 100 subjects, static 3D scans."""
import os.path as osp
import re
from typing import List, Optional, Sequence, Union

from mmfer4d.registry import DATASETS
from ._file_index import list_dir, resolve_classes
from .base_fer_dataset import BaseFERDataset
from .categories import EXPRESSIONS_6

_SUBJECT = re.compile(r'^[FM]\d{4}$')
_SCAN = re.compile(r'^(?P<subject>[FM]\d{4})_(?P<code>AN|DI|FE|HA|SA|SU|NE)'
                   r'(?P<intensity>\d{2})(?P<race>AE|AM|BL|IN|LA|WH)_'
                   r'(?P<kind>F3D|RAW)\.(?i:wrl)$')


@DATASETS.register_module()
class BU3DFEDataset(BaseFERDataset):
    """BU-3DFE static 3D facial expression data set.

    Expected layout (as shipped), one folder per subject::

        data_root/
            F0001/                       subjects F0001-F0056, M0001-M0044
                F0001_AN01WH_F3D.wrl     cropped face mesh (VRML 2.0)
                F0001_AN01WH_F3D.bnd     83 landmarks (optional)
                F0001_AN01WH_F3D.bmp     texture (read by the loader)
                F0001_AN01WH_RAW.wrl     raw scan
                F0001_NE00WH_F3D.wrl     neutral
                ...

    A scan name is ``{subject}_{expression}{intensity}{race}_{kind}``:
    expression ``AN DI FE HA SA SU`` (anger, disgust, fear, happiness,
    sadness, surprise) with intensity ``01``-``04`` (low to high), or
    ``NE00`` (neutral); race ``AE AM BL IN LA WH``; kind ``F3D`` or ``RAW``.
    Other files are ignored. Indexing lists folders only; no mesh is read.

    The common protocol (Wang et al., CVPR 2006, onwards) keeps 60
    subjects, the two highest intensities and six classes, in 10-fold
    subject-independent cross-validation repeated over several seeds.
    Which 60 subjects is not stated in the papers: none that we could read
    lists them, and later papers report either one fixed set or a new
    random draw of 60 for every round of cross-validation. The choice is
    therefore explicit here (``subjects``, shown by ``print(dataset)``):

    - ``None`` (default): all 100 subjects.
    - a list of ids: exactly those (e.g. a list obtained from a paper's
      authors, which makes a result comparable with theirs).
    - ``60`` or ``dict(num=60, seed=k)``: a seeded random draw stratified
      by sex, 34 women and 26 men (the data set has 56 and 44); the same
      ``seed`` gives the same subjects, so train and test splits agree,
      and varying it per round gives the random-draw variant. The first
      60 in sorted order (56 women, 4 men) is never used.

    Each data info holds ``mesh_path``, ``landmark_path`` (when the ``.bnd``
    exists and ``with_landmarks``), ``gt_label``, ``subject``,
    ``expression``, ``intensity`` (0 neutral, 1-4), ``race`` and ``gender``
    (``'F'`` / ``'M'``).

    Args:
        data_root (str): The folder holding the subject folders.
            Defaults to ''.
        classes (int | Sequence[str], optional): ``6``, ``7`` (adds
            ``'neutral'``, keeping the ``NE00`` scans) or a subset of
            :data:`EXPRESSIONS_7`; scans of other expressions are dropped.
            Labels index this tuple. Defaults to 6 classes.
        intensities (Sequence[int]): Intensities kept for the six
            expressions (neutral is kept whenever it is a class).
            Defaults to (3, 4).
        mesh_kind (str): ``'F3D'`` (cropped face) or ``'RAW'``.
            Defaults to ``'F3D'``.
        with_landmarks (bool): Give ``landmark_path`` when a ``.bnd`` of the
            same stem exists. Defaults to True.
        **kwargs: Protocol and mmengine arguments of
            :class:`BaseFERDataset` (``subjects``, ``fold``, ``num_folds``,
            ``split``, ``seed``, ``pipeline``...).

    Raises:
        ValueError: On a bad ``mesh_kind``, intensity or class name.
        FileNotFoundError: If ``data_root`` is not set, does not exist, or
            holds no scan in the layout above (the message names the
            folder and what it holds).
    """

    METAINFO = dict(classes=EXPRESSIONS_6)
    LAYOUT = ('subject folders F0001-F0056 and M0001-M0044, each holding '
              'scans named {subject}_{expression}{intensity}{race}_F3D.wrl '
              '(or _RAW.wrl), e.g. F0001/F0001_AN01WH_F3D.wrl')
    CODES = dict(
        AN='anger',
        DI='disgust',
        FE='fear',
        HA='happiness',
        SA='sadness',
        SU='surprise',
        NE='neutral')

    def __init__(self,
                 data_root: str = '',
                 classes: Union[None, int, Sequence[str]] = None,
                 intensities: Sequence[int] = (3, 4),
                 mesh_kind: str = 'F3D',
                 with_landmarks: bool = True,
                 **kwargs):
        if mesh_kind not in ('F3D', 'RAW'):
            raise ValueError(
                f"mesh_kind must be 'F3D' or 'RAW', got {mesh_kind!r}")
        bad = set(intensities) - {1, 2, 3, 4}
        if bad:
            raise ValueError(f'intensities must be in 1..4, got {sorted(bad)}')
        self.intensities = tuple(intensities)
        self.mesh_kind = mesh_kind
        self.with_landmarks = with_landmarks
        super().__init__(
            data_root=data_root, classes=resolve_classes(classes), **kwargs)

    def load_raw_data_list(self) -> List[dict]:
        classes = self.metainfo['classes']
        unknown = set(classes) - set(self.CODES.values())
        if unknown:
            raise ValueError(f'{type(self).__name__}: unknown classes '
                             f'{sorted(unknown)}; BU-3DFE has '
                             f'{sorted(self.CODES.values())}')
        root = self.data_root
        data_list = []
        for entry in list_dir(root, type(self).__name__):
            if not (_SUBJECT.match(entry.name) and entry.is_dir()):
                continue
            names = {e.name for e in list_dir(entry.path, type(self).__name__)}
            for name in names:
                match = _SCAN.match(name)
                if match is None or match['kind'] != self.mesh_kind:
                    continue
                info = self._parse(match, classes)
                if info is None:
                    continue
                info['mesh_path'] = osp.join(entry.path, name)
                bnd = name[:-4] + '.bnd'
                if self.with_landmarks and bnd in names:
                    info['landmark_path'] = osp.join(entry.path, bnd)
                data_list.append(info)
        data_list.sort(key=lambda x: (x['subject'], x['gt_label'],
                                      x['intensity'], x['mesh_path']))
        return data_list

    def _parse(self, match, classes) -> Optional[dict]:
        expression = self.CODES[match['code']]
        intensity = int(match['intensity'])
        if expression not in classes:
            return None
        if expression != 'neutral' and intensity not in self.intensities:
            return None
        return dict(
            gt_label=classes.index(expression),
            subject=match['subject'],
            expression=expression,
            intensity=intensity,
            race=match['race'],
            gender=match['subject'][0])
