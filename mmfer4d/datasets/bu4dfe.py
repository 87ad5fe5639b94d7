# Copyright (c) mmfer4d contributors. All rights reserved.
"""BU-4DFE (Yin et al., FG 2008): 101 subjects, 3D video sequences."""
import os.path as osp
import re
import warnings
from typing import List, Optional, Sequence

from mmfer4d.registry import DATASETS
from ._file_index import frame_key, list_dir, resolve_classes
from .base_fer_dataset import BaseFERDataset
from .categories import EXPRESSIONS_6

_SUBJECT = re.compile(r'^[FM]\d{3}$')


@DATASETS.register_module()
class BU4DFEDataset(BaseFERDataset):
    """BU-4DFE dynamic 3D facial expression data set; a sample is a sequence.

    Expected layout (as shipped)::

        data_root/
            F001/                    subjects F001-F058, M001-M043
                Angry/               Angry Disgust Fear Happy Sad Surprise
                    000.wrl          one VRML 2.0 mesh per frame (~100),
                    000.bmp          its texture (read by the loader)
                    001.wrl
                    ...
        bnd_root/                    optional, the same tree of landmarks
            F001/Angry/000.bnd ...   83 points per frame

    Expression folder names match case-insensitively. Frames are sorted by
    the number in their name (``2.wrl`` before ``10.wrl``). Each sequence
    goes neutral - onset - apex - offset - neutral; choosing frames is the
    pipeline's job (``SampleFrames``). Indexing lists folders only.

    Each data info holds ``frame_paths`` (list[str]), ``num_frames``,
    ``landmark_paths`` (when ``bnd_root`` is set and every frame has one),
    ``gt_label``, ``subject``, ``expression``, ``intensity`` (-1: unknown)
    and ``gender``.

    Args:
        data_root (str): The folder holding the subject folders.
            Defaults to ''.
        bnd_root (str, optional): Root of the parallel landmark tree, joined
            to ``data_root`` when relative. Defaults to None (no landmarks).
        classes (Sequence[str], optional): A subset of
            :data:`EXPRESSIONS_6`. Defaults to all six.
        frame_ext (str): Extension of the frame files. Defaults to ``'.wrl'``.
        min_frames (int): Sequences with fewer frames are dropped.
            Defaults to 1.
        **kwargs: Protocol and mmengine arguments of
            :class:`BaseFERDataset`.

    Raises:
        FileNotFoundError: If ``data_root`` is not set, does not exist, or
            holds no sequence in the layout above.
        ValueError: On a class BU-4DFE does not have.
    """

    METAINFO = dict(classes=EXPRESSIONS_6)
    LAYOUT = ('subject folders F001-F058 and M001-M043, each holding the '
              'expression folders Angry Disgust Fear Happy Sad Surprise of '
              'numbered frames, e.g. F001/Angry/000.wrl')
    FOLDERS = dict(
        angry='anger',
        disgust='disgust',
        fear='fear',
        happy='happiness',
        sad='sadness',
        surprise='surprise')

    def __init__(self,
                 data_root: str = '',
                 bnd_root: Optional[str] = None,
                 classes: Optional[Sequence[str]] = None,
                 frame_ext: str = '.wrl',
                 min_frames: int = 1,
                 **kwargs):
        self.bnd_root = bnd_root
        self.frame_ext = frame_ext.lower()
        self.min_frames = min_frames
        self.num_missing_landmarks = 0
        super().__init__(
            data_root=data_root, classes=resolve_classes(classes), **kwargs)

    def load_raw_data_list(self) -> List[dict]:
        owner = type(self).__name__
        classes = self.metainfo['classes']
        unknown = set(classes) - set(self.FOLDERS.values())
        if unknown:
            raise ValueError(f'{owner}: unknown classes {sorted(unknown)}; '
                             f'BU-4DFE has {EXPRESSIONS_6}')
        bnd_root = None if self.bnd_root is None else osp.join(
            self.data_root, self.bnd_root)
        self.num_missing_landmarks = 0
        data_list = []
        for subj in list_dir(self.data_root, owner):
            if not (_SUBJECT.match(subj.name) and subj.is_dir()):
                continue
            for seq in list_dir(subj.path, owner):
                expression = self.FOLDERS.get(seq.name.lower())
                if expression not in classes or not seq.is_dir():
                    continue
                frames = sorted((e.name for e in list_dir(seq.path, owner)
                                 if e.name.lower().endswith(self.frame_ext)),
                                key=frame_key)
                if len(frames) < max(self.min_frames, 1):
                    continue
                info = dict(
                    frame_paths=[osp.join(seq.path, f) for f in frames],
                    num_frames=len(frames),
                    gt_label=classes.index(expression),
                    subject=subj.name,
                    expression=expression,
                    intensity=-1,
                    gender=subj.name[0])
                if bnd_root is not None:
                    self._add_landmarks(info, bnd_root, subj.name, seq.name,
                                        frames)
                data_list.append(info)
        if self.num_missing_landmarks:
            warnings.warn(
                f'{owner}: {self.num_missing_landmarks} sequences lack a .bnd '
                f'for some frame under {bnd_root!r}; they have no '
                'landmark_paths')
        data_list.sort(key=lambda x: (x['subject'], x['gt_label']))
        return data_list

    def _add_landmarks(self, info, bnd_root, subject, folder, frames):
        bnd_dir = osp.join(bnd_root, subject, folder)
        try:
            names = {e.name for e in list_dir(bnd_dir, '')}
        except FileNotFoundError:
            names = set()
        stems = [osp.splitext(f)[0] + '.bnd' for f in frames]
        if all(s in names for s in stems):
            info['landmark_paths'] = [osp.join(bnd_dir, s) for s in stems]
        else:
            self.num_missing_landmarks += 1
