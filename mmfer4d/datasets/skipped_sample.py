# Copyright (c) mmfer4d contributors. All rights reserved.
"""Samples skipped because their files are broken, and their batching.

A data set built with ``skip_broken`` returns a :class:`SkippedSample` in
place of a sample whose file cannot be read (or, in training with
``skip_broken='replace'``, another sample carrying the record of the broken
one). :func:`skip_broken_collate` drops the markers from the batch and
carries their records under :data:`SKIPPED_KEY`, so that they reach the main
process from every data-loader worker: the metrics count them and
:class:`~mmfer4d.engine.hooks.SkippedSampleHook` reports them at the end of
the run.
"""
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, List, Sequence, Union

from mmengine.registry import FUNCTIONS

#: Batch key holding the records (dicts) of the samples skipped in it.
SKIPPED_KEY = 'skipped_samples'
#: Key of a sample dict that replaced broken ones (``'replace'`` policy).
REPLACED_KEY = 'replaced_samples'


@dataclass
class SkippedSample:
    """The record of one sample left out because a file of it is broken.

    Attributes:
        index (int): Index of the sample in its data set.
        files (list[str]): The file(s) that could not be read.
        error (str): The reader's message.
        dataset (str): Class name of the data set.
        subject (str): Subject of the sample. Defaults to ''.
        action (str): ``'dropped'`` (left out of the split) or
            ``'replaced'`` (another training sample was drawn).
            Defaults to ``'dropped'``.
    """

    index: int
    files: List[str] = field(default_factory=list)
    error: str = ''
    dataset: str = ''
    subject: str = ''
    action: str = 'dropped'

    def to_dict(self) -> dict:
        """The record as a plain dict (what batches and JSON files hold)."""
        return asdict(self)


def batch_size(batch: dict) -> int:
    """Number of samples a collated batch holds (0 when all were skipped)."""
    inputs = batch.get('inputs', ())
    return len(inputs) if inputs is not None else 0


def skipped_records(data_batch: Any) -> List[dict]:
    """The records of the samples skipped in a batch (empty if none)."""
    if isinstance(data_batch, dict):
        return list(data_batch.get(SKIPPED_KEY) or ())
    return []


@FUNCTIONS.register_module()
def skip_broken_collate(data_batch: Sequence,
                        collate: Union[str, Callable] = 'pseudo_collate'
                        ) -> dict:
    """Collate a batch, leaving out the samples of broken files.

    :class:`SkippedSample` markers are removed and the other samples are
    collated by ``collate``. The records of the removed samples (and of the
    broken samples that a ``'replace'`` policy swapped for the kept ones)
    are put under ``batch['skipped_samples']`` as a list of dicts; a batch
    of markers only has ``inputs == []`` and ``data_samples == []``.

    Use it as a data loader's ``collate_fn``::

        collate_fn=dict(type='skip_broken_collate', collate='default_collate')

    Args:
        data_batch (Sequence): What the data set returned for each index.
        collate (str | Callable): The collate function for the kept
            samples, a name in mmengine's ``FUNCTIONS`` registry or a
            callable. Defaults to ``'pseudo_collate'``.

    Returns:
        dict: The collated batch, with the key ``'skipped_samples'``.

    Raises:
        TypeError: If the kept samples do not collate into a dict (the
            records need a key to travel under).
    """
    inner = FUNCTIONS.get(collate) if isinstance(collate, str) else collate
    if inner is None:
        raise KeyError(f'skip_broken_collate: no collate function named '
                       f'{collate!r} in the FUNCTIONS registry')
    kept, records = [], []
    for item in data_batch:
        if isinstance(item, SkippedSample):
            records.append(item.to_dict())
            continue
        if isinstance(item, dict) and REPLACED_KEY in item:
            item = dict(item)
            records.extend(item.pop(REPLACED_KEY))
        kept.append(item)
    batch = inner(kept) if kept else dict(inputs=[], data_samples=[])
    if not isinstance(batch, dict):
        raise TypeError('skip_broken_collate needs samples that collate into '
                        f'a dict, got {type(batch).__name__}')
    batch[SKIPPED_KEY] = records
    return batch
