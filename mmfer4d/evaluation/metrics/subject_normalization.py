# Copyright (c) mmfer4d contributors. All rights reserved.
"""Per-subject normalisation of embeddings (subject ids, no labels)."""
from typing import Sequence

import numpy as np


def normalize_per_subject(embeddings: np.ndarray,
                          subjects: Sequence,
                          l2: bool = True) -> np.ndarray:
    """Remove each subject's mean embedding: identity out, expression in.

    In a BU-3DFE-style set every subject shows every expression, so the
    mean of a subject's embeddings is its identity plus the same average
    expression for everyone; subtracting it leaves what differs between a
    subject's scans, i.e. the expression (plus pose and noise). This is
    the person-specific normalisation of Baltrusaitis et al.
    ("Cross-dataset learning and person-specific normalisation for
    automatic Action Unit detection", FG 2015), who subtract a person's
    median descriptor, with the mean. It needs **subject ids, no
    expression labels**.

    ``z_i = n(n(x_i) - mean_{j: s_j = s_i} n(x_j))`` with ``n`` the L2
    normalisation (the first ``n`` puts every sample on the unit sphere,
    the cosine geometry the embeddings are trained in; the second only
    when ``l2``).

    Args:
        embeddings (np.ndarray): ``(N, D)`` embeddings.
        subjects (Sequence): ``(N,)`` subject id of every row (any
            hashable values).
        l2 (bool): L2-normalise the centred rows. Defaults to True.

    Returns:
        np.ndarray: ``(N, D)`` float64 centred (and normalised) rows. A
        subject with one sample gives a zero row (before ``l2``; after
        it, still zero).

    Raises:
        ValueError: If ``embeddings`` is not 2-D or the lengths differ.
    """
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f'embeddings must be (N, D), got shape {x.shape}')
    subjects = np.asarray([str(s) for s in subjects])
    if subjects.shape[0] != x.shape[0]:
        raise ValueError(f'{x.shape[0]} embeddings but {subjects.shape[0]} '
                         'subject ids')
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    _, inverse = np.unique(subjects, return_inverse=True)
    inverse = inverse.reshape(-1)
    sums = np.zeros((inverse.max() + 1 if inverse.size else 0, x.shape[1]))
    np.add.at(sums, inverse, x)
    counts = np.bincount(inverse, minlength=sums.shape[0])[:, None]
    x = x - (sums / np.maximum(counts, 1))[inverse]
    if l2:
        norm = np.linalg.norm(x, axis=1, keepdims=True)
        x = np.where(norm > 1e-12, x / np.maximum(norm, 1e-12), 0.0)
    return x
