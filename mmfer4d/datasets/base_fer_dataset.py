# Copyright (c) mmfer4d contributors. All rights reserved.
"""Base class of every mmfer4d data set: labels, subjects, folds."""
import logging
import os
import os.path as osp
from typing import Hashable, List, Optional, Sequence, Union

from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from mmfer4d.registry import TRANSFORMS
from .categories import EXPRESSIONS_6
from .io.errors import MeshReadError
from .protocols import draw_subjects, fold_summary, subject_folds
from .skipped_sample import REPLACED_KEY, SkippedSample

SubjectsType = Union[None, str, int, dict, Sequence[str]]
_SKIP_POLICIES = {False: None, None: None, True: 'drop', 'drop': 'drop',
                  'replace': 'replace'}


class BaseFERDataset(BaseDataset):
    """Base class for 3D/4D facial expression data sets.

    Subclasses implement :meth:`load_raw_data_list`, returning one dict per
    sample with at least ``'gt_label'`` (int) and ``'subject'`` (str), and
    never reading a mesh (only file names). This class keeps a subject
    subset, assigns subjects to folds and keeps one split. File-based
    subclasses set :attr:`LAYOUT`, the folder layout that an error about a
    wrong, empty or missing ``data_root`` names.

    Every data set accepts the same protocol arguments, with the same
    meaning:

    - ``subjects`` chooses the subjects: ``None`` / ``'all'`` keeps every
      subject; a list keeps those named; ``dict(num=60, seed=0,
      stratify='gender')`` (or just ``60``) keeps a seeded random draw of
      that many, stratified by the samples' ``gender`` when they carry one
      (see :func:`~mmfer4d.datasets.protocols.draw_subjects`). The choice
      is shown by ``print(dataset)``.
    - ``fold=None`` keeps all samples; ``fold=k`` with ``split='test'`` keeps
      the subjects of fold k, with ``split='train'`` all the others.
    - ``num_folds`` (default 10) is the number of subject-independent folds;
      ``num_folds=None`` or ``'loso'`` gives leave-one-subject-out.
    - ``seed`` fixes the partition; repeated cross-validation varies it.

    **Broken files.** With ``skip_broken`` set, a sample whose file raises
    :class:`MeshReadError` is logged, counted in ``num_skipped`` (per
    process) and, by policy:

    - ``True`` / ``'drop'``: returned as a
      :class:`~mmfer4d.datasets.skipped_sample.SkippedSample` marker, which
      ``collate_fn=dict(type='skip_broken_collate')`` drops from the batch
      while carrying its record on; the metrics count it as skipped and
      :class:`~mmfer4d.engine.hooks.SkippedSampleHook` reports it. Nothing
      replaces it, so a test split is scored on its readable samples only.
    - ``'replace'`` (training splits only): another sample is drawn in its
      place, as mmengine does for a ``None`` from the pipeline; the broken
      sample's record travels with the replacement, so it is reported too.

    Args:
        data_root (str): Root folder of the data set. Defaults to ''.
        classes (Sequence[str], optional): Class names. Defaults to the
            subclass's ``METAINFO['classes']``.
        subjects (None | str | int | dict | Sequence[str]): The subject
            subset, see above. Defaults to None (all).
        fold (int, optional): The held-out fold. Defaults to None.
        num_folds (int | str, optional): Folds, or ``'loso'``. Defaults to 10.
        split (str): ``'train'`` or ``'test'``. Defaults to ``'train'``.
        seed (int): Seed of the fold partition. Defaults to 0.
        skip_broken (bool | str): ``False`` (a broken file raises),
            ``True`` / ``'drop'`` or ``'replace'``. Defaults to False.
        **kwargs: Passed to :class:`mmengine.dataset.BaseDataset`
            (``pipeline``, ``test_mode``, ``lazy_init``...).

    Raises:
        ValueError: On an unknown split or skip policy, ``'replace'`` on a
            test split, a fold outside ``[0, num_folds)``, or a subject
            subset naming absent subjects or asking for too many.
        FileNotFoundError: If ``data_root`` is missing, not a folder, or
            holds no sample in :attr:`LAYOUT` (the message names the
            folder, what it holds and what was expected).
    """

    METAINFO = dict(classes=EXPRESSIONS_6)
    #: The layout expected under ``data_root`` (None: not file-based).
    LAYOUT: Optional[str] = None

    def __init__(self,
                 data_root: str = '',
                 classes: Optional[Sequence[str]] = None,
                 subjects: SubjectsType = None,
                 fold: Optional[int] = None,
                 num_folds: Optional[Union[int, str]] = 10,
                 split: str = 'train',
                 seed: int = 0,
                 skip_broken: Union[bool, str] = False,
                 metainfo: Optional[dict] = None,
                 **kwargs):
        if split not in ('train', 'test'):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        if num_folds == 'loso':
            num_folds = None
        if skip_broken not in _SKIP_POLICIES:
            raise ValueError(f"skip_broken must be False, True, 'drop' or "
                             f"'replace', got {skip_broken!r}")
        self.skip_policy = _SKIP_POLICIES[skip_broken]
        if self.skip_policy == 'replace' and (
                split == 'test' or kwargs.get('test_mode', False)):
            raise ValueError(
                f"{type(self).__name__}: skip_broken='replace' on a test "
                'split would score another sample in place of the broken '
                "one; use skip_broken=True (drop and count it)")
        self.subjects_kept = _check_subjects(subjects)
        self.subject_selection = 'all subjects'
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
        if self.LAYOUT is not None:
            self._check_root()
        data_list = self.load_raw_data_list()
        if not data_list and self.LAYOUT is not None:
            raise self._no_samples_error()
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

    def _check_root(self):
        owner, root = type(self).__name__, self.data_root
        if not root:
            raise FileNotFoundError(
                f'{owner}: data_root is not set; expected the folder '
                f'holding {self.LAYOUT}')
        if not osp.isdir(root):
            what = 'is a file, not a folder' if osp.exists(root) else \
                'does not exist'
            raise FileNotFoundError(
                f'{owner}: data_root {root!r} {what}; expected a folder '
                f'holding {self.LAYOUT}')

    def _no_samples_error(self) -> FileNotFoundError:
        root = self.data_root
        names = sorted(os.listdir(root))
        found = 'it is empty' if not names else \
            f'it holds {len(names)} entries, e.g. {names[:5]}'
        return FileNotFoundError(
            f'{type(self).__name__}: no sample found under data_root '
            f'{root!r} ({found}); expected {self.LAYOUT}. Check data_root '
            'and the class / intensity / pattern arguments.')

    def _keep_subjects(self, data_list: List[dict]) -> List[dict]:
        present = sorted({info['subject'] for info in data_list}, key=str)
        choice = self.subjects_kept
        if choice is None:
            self.subject_selection = f'all {len(present)} subjects'
            return data_list
        if isinstance(choice, dict):
            keep = self._draw(data_list, present, **choice)
        else:
            keep = set(choice)
            missing = keep - set(present)
            if missing:
                raise ValueError(
                    f'{type(self).__name__}: subjects not found under '
                    f'{self.data_root!r}: {sorted(missing)[:10]}')
            self.subject_selection = (f'{len(keep)} of {len(present)} '
                                      'subjects, as listed')
        return [info for info in data_list if info['subject'] in keep]

    def _draw(self, data_list, present, num, seed=0, stratify='auto'):
        if stratify == 'auto':
            stratify = 'gender' if data_list and all(
                'gender' in x for x in data_list) else None
        groups = None if stratify is None else {
            x['subject']: str(x[stratify]) for x in data_list}
        if not 1 <= num <= len(present):
            raise ValueError(
                f'{type(self).__name__}: subjects asks for {num} subjects, '
                f'{len(present)} are present under {self.data_root!r}')
        keep = draw_subjects(present, num, seed, groups)
        text = f'{num} of {len(present)} subjects, random draw (seed {seed})'
        if groups is not None:
            counts = {}
            for s in keep:
                counts[groups[s]] = counts.get(groups[s], 0) + 1
            shares = ', '.join(f'{n} {g}' for g, n in sorted(counts.items()))
            text += f' stratified by {stratify} ({shares})'
        self.subject_selection = text
        return set(keep)

    @property
    def subjects(self) -> List[Hashable]:
        """Sorted subject ids of the kept split."""
        return sorted({info['subject'] for info in self.data_list}, key=str)

    def __getitem__(self, idx: int):
        """The sample ``idx`` after the pipeline, honouring ``skip_broken``.

        Returns:
            dict | SkippedSample: The sample, or (``'drop'``) the marker of a
            sample whose file is broken.

        Raises:
            MeshReadError: If a file is broken and ``skip_broken`` is off.
            RuntimeError: If ``'replace'`` finds no readable sample in
                ``max_refetch`` draws.
        """
        if self.skip_policy is None:
            return super().__getitem__(idx)
        if not self._fully_initialized:
            self.full_init()
        replaced = []
        for _ in range(self.max_refetch + 1):
            try:
                data = self.prepare_data(idx)
            except MeshReadError as err:
                record = self._skip(idx, err)
                if self.skip_policy == 'drop':
                    return record
                replaced.append(record.to_dict())
                idx = self._rand_another()
                continue
            if data is None:
                if self.test_mode:
                    raise RuntimeError(
                        f'{type(self).__name__}: the test pipeline returned '
                        f'None for sample {idx}')
                idx = self._rand_another()
                continue
            if replaced and isinstance(data, dict):
                data[REPLACED_KEY] = replaced
            return data
        raise RuntimeError(
            f'{type(self).__name__}: no readable sample in '
            f'{self.max_refetch + 1} draws ({len(replaced)} broken)')

    def _skip(self, idx: int, err: MeshReadError) -> SkippedSample:
        info = self.get_data_info(idx)
        action = 'dropped' if self.skip_policy == 'drop' else 'replaced'
        record = SkippedSample(
            index=int(idx),
            files=[err.path],
            error=str(err),
            dataset=type(self).__name__,
            subject=str(info.get('subject', '')),
            action=action)
        self.num_skipped += 1
        what = 'left out of this split' if action == 'dropped' else \
            'replaced by another training sample'
        print_log(
            f'{type(self).__name__}: skipped sample {idx} ({err}); {what}; '
            f'{self.num_skipped} skipped so far in this process.',
            logger='current',
            level=logging.WARNING)
        return record

    def __repr__(self) -> str:
        head = f'Dataset {type(self).__name__}'
        body = [f'Number of samples: \t{self.__len__()}']
        if self._fully_initialized:
            body.append(f'Root: \t{self.data_root}')
            body.append(f'Subjects kept: \t{self.subject_selection}')
            protocol = 'all subjects' if self.fold is None else (
                f"fold {self.fold} of "
                f"{'LOSO' if self.num_folds is None else self.num_folds} "
                f'(seed {self.seed}), split {self.split!r}')
            body.append(f'Protocol: \t{protocol}')
            if self.skip_policy is not None:
                body.append(f'Broken files: \t{self.skip_policy}')
            fold_of = {s: self.fold_of[s] for s in self.subjects} \
                if self.fold_of else None
            body.append(
                fold_summary(self.data_list, self.CLASSES, fold_of=fold_of))
        return '\n'.join([head] + ['    ' + line for line in body])


def _check_subjects(subjects: SubjectsType):
    """``subjects`` as None, a tuple of ids, or a draw dict."""
    if subjects is None or subjects == 'all':
        return None
    if isinstance(subjects, bool):
        raise ValueError(f'subjects must be None, a list, a number or a '
                         f'dict, got {subjects!r}')
    if isinstance(subjects, int):
        return dict(num=subjects)
    if isinstance(subjects, dict):
        unknown = set(subjects) - {'num', 'seed', 'stratify'}
        if 'num' not in subjects or unknown:
            raise ValueError(
                "subjects as a dict takes num (required), seed and "
                f"stratify, got {sorted(subjects)}")
        return dict(subjects)
    if isinstance(subjects, str):
        raise ValueError(f"subjects as a string must be 'all', got "
                         f'{subjects!r}')
    return tuple(subjects)
