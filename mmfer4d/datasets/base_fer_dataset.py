# Copyright (c) mmfer4d contributors. All rights reserved.
"""Base class of every mmfer4d data set: labels, subjects, folds."""
import logging
from typing import Hashable, List, Optional, Sequence, Union

from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from mmfer4d.registry import TRANSFORMS
from .categories import EXPRESSIONS_6
from .io.errors import MeshReadError
from .protocols import fold_summary, subject_folds


class BaseFERDataset(BaseDataset):
    """Base class for 3D/4D facial expression data sets.

    Subclasses implement :meth:`load_raw_data_list`, returning one dict per
    sample with at least ``'gt_label'`` (int) and ``'subject'`` (str), and
    never reading a mesh (only file names). This class keeps a subject
    subset, assigns subjects to folds and keeps one split.

    Every data set accepts the same protocol arguments, with the same
    meaning:

    - ``fold=None`` keeps all samples; ``fold=k`` with ``split='test'`` keeps
      the subjects of fold k, with ``split='train'`` all the others.
    - ``num_folds`` (default 10) is the number of subject-independent folds;
      ``num_folds=None`` or ``'loso'`` gives leave-one-subject-out.
    - ``seed`` fixes the partition; repeated cross-validation varies it.

    Args:
        data_root (str): Root folder of the data set. Defaults to ''.
        classes (Sequence[str], optional): Class names. Defaults to the
            subclass's ``METAINFO['classes']``.
        subjects (Sequence[str] | int, optional): Keep only these subjects,
            or the first n in sorted order. Defaults to all.
        fold (int, optional): The held-out fold. Defaults to None.
        num_folds (int | str, optional): Folds, or ``'loso'``. Defaults to 10.
        split (str): ``'train'`` or ``'test'``. Defaults to ``'train'``.
        seed (int): Seed of the fold partition. Defaults to 0.
        skip_broken (bool): When a sample's file cannot be read
            (:class:`MeshReadError`), log it, count it in
            ``num_skipped`` and draw another sample instead of raising.
            Defaults to False: a broken file stops the run.
        **kwargs: Passed to :class:`mmengine.dataset.BaseDataset`
            (``pipeline``, ``test_mode``, ``lazy_init``...).

    Raises:
        ValueError: On an unknown split, a fold outside ``[0, num_folds)``,
            or a subject subset naming absent subjects.
    """

    METAINFO = dict(classes=EXPRESSIONS_6)

    def __init__(self,
                 data_root: str = '',
                 classes: Optional[Sequence[str]] = None,
                 subjects: Optional[Union[Sequence[str], int]] = None,
                 fold: Optional[int] = None,
                 num_folds: Optional[Union[int, str]] = 10,
                 split: str = 'train',
                 seed: int = 0,
                 skip_broken: bool = False,
                 metainfo: Optional[dict] = None,
                 **kwargs):
        if split not in ('train', 'test'):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        if num_folds == 'loso':
            num_folds = None
        self.subjects_kept = subjects
        self.fold = fold
        self.num_folds = num_folds
        self.split = split
        self.seed = seed
        self.skip_broken = skip_broken
        self.num_skipped = 0
        self.fold_of = {}
        metainfo = dict(metainfo or {})
        if classes is not None:
            metainfo['classes'] = tuple(classes)
        kwargs.setdefault('serialize_data', False)
        # Built from our registry, as mmpretrain's data sets build from
        # theirs: ``type='SynthesizeFaceMesh'`` resolves without
        # ``init_default_scope('mmfer4d')`` (a Runner's scope still rules).
        kwargs['pipeline'] = [
            TRANSFORMS.build(t) if isinstance(t, dict) else t
            for t in kwargs.get('pipeline') or []
        ]
        super().__init__(data_root=data_root, metainfo=metainfo, **kwargs)

    @property
    def CLASSES(self):
        return self.metainfo.get('classes')

    def load_raw_data_list(self) -> List[dict]:
        """All samples of the data set, before subject and fold selection.

        Returns:
            list[dict]: One dict per sample with ``'gt_label'`` and
            ``'subject'``.
        """
        raise NotImplementedError

    def load_data_list(self) -> List[dict]:
        data_list = self.load_raw_data_list()
        data_list = self._keep_subjects(data_list)
        if self.fold is None:
            self.fold_of = {}
            return data_list
        counts = {}
        for info in data_list:
            counts[info['subject']] = counts.get(info['subject'], 0) + 1
        self.fold_of = subject_folds(
            list(counts), self.num_folds, self.seed, counts=counts)
        total = len(set(self.fold_of.values()))
        if not 0 <= self.fold < total:
            raise ValueError(f'fold must be in [0, {total}), got {self.fold}')
        held_out = self.split == 'test'
        return [
            info for info in data_list
            if (self.fold_of[info['subject']] == self.fold) == held_out
        ]

    def _keep_subjects(self, data_list: List[dict]) -> List[dict]:
        if self.subjects_kept is None:
            return data_list
        present = sorted({info['subject'] for info in data_list})
        if isinstance(self.subjects_kept, int):
            keep = set(present[:self.subjects_kept])
        else:
            keep = set(self.subjects_kept)
            missing = keep - set(present)
            if missing:
                raise ValueError(
                    f'{type(self).__name__}: subjects not found under '
                    f'{self.data_root!r}: {sorted(missing)[:10]}')
        return [info for info in data_list if info['subject'] in keep]

    @property
    def subjects(self) -> List[Hashable]:
        """Sorted subject ids of the kept split."""
        return sorted({info['subject'] for info in self.data_list}, key=str)

    def prepare_data(self, idx):
        try:
            return super().prepare_data(idx)
        except MeshReadError as err:
            if not self.skip_broken:
                raise
            self.num_skipped += 1
            print_log(
                f'Skipped broken sample {idx} ({err}); '
                f'{self.num_skipped} skipped so far in this process.',
                logger='current',
                level=logging.WARNING)
            return None

    def __repr__(self) -> str:
        head = f'Dataset {type(self).__name__}'
        body = [f'Number of samples: \t{self.__len__()}']
        if self._fully_initialized:
            body.append(f'Root: \t{self.data_root}')
            protocol = 'all subjects' if self.fold is None else (
                f"fold {self.fold} of "
                f"{'LOSO' if self.num_folds is None else self.num_folds} "
                f'(seed {self.seed}), split {self.split!r}')
            body.append(f'Protocol: \t{protocol}')
            fold_of = {s: self.fold_of[s] for s in self.subjects} \
                if self.fold_of else None
            body.append(
                fold_summary(self.data_list, self.CLASSES, fold_of=fold_of))
        return '\n'.join([head] + ['    ' + line for line in body])
