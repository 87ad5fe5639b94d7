# Copyright (c) mmfer4d contributors. All rights reserved.
"""Expression geometry of 3D facial landmarks, without labels."""
from typing import Optional, Sequence

import numpy as np


def procrustes_align(landmarks: np.ndarray,
                     reference: np.ndarray) -> np.ndarray:
    """Rigidly align landmark sets to a reference (rotation, translation).

    The orthogonal Procrustes solution (Kabsch, Acta Cryst. A32, 1976):
    with centred ``A`` and ``B = reference - mean``, ``R = U diag(1, 1, d)
    V^T`` from the SVD ``A^T B = U S V^T``, ``d = sign(det(U V^T))`` (no
    reflection). Scale is kept: a face's size is identity, which the
    per-subject centring of :func:`expression_descriptors` removes.

    Args:
        landmarks (np.ndarray): ``(N, L, 3)`` or ``(L, 3)``, mm.
        reference (np.ndarray): ``(L, 3)``, mm.

    Returns:
        np.ndarray: Centred, rotated landmarks of ``landmarks``' shape
        (float64, mm).

    Raises:
        ValueError: On shapes other than ``(..., L, 3)`` matching the
            reference.
    """
    a = np.asarray(landmarks, dtype=np.float64)
    ref = np.asarray(reference, dtype=np.float64)
    single = a.ndim == 2
    if single:
        a = a[None]
    if a.ndim != 3 or a.shape[2] != 3 or ref.shape != a.shape[1:]:
        raise ValueError(f'landmarks {np.shape(landmarks)} and reference '
                         f'{ref.shape} must be (N, L, 3) and (L, 3)')
    a = a - a.mean(axis=1, keepdims=True)
    b = ref - ref.mean(axis=0)
    u, _, vt = np.linalg.svd(np.einsum('nli,lj->nij', a, b))
    d = np.sign(np.linalg.det(u @ vt))
    u[:, :, 2] *= d[:, None]
    out = a @ (u @ vt)
    return out[0] if single else out


def expression_descriptors(landmarks: np.ndarray,
                           subjects: Sequence,
                           reference: Optional[np.ndarray] = None,
                           iterations: int = 2) -> np.ndarray:
    """Label-free expression descriptors: landmark displacements from the
    subject's mean shape.

    1. Generalised Procrustes: every set is aligned
       (:func:`procrustes_align`) to the mean of all sets (``iterations``
       rounds), which removes head pose.
    2. Each subject's mean aligned shape is subtracted: what remains is
       how the face moved, not its shape (identity). Every subject of a
       BU-3DFE-style set shows every expression, so the mean is the same
       mixture of expressions for everyone.
    3. Rows are flattened and L2-normalised.

    This is the geometric route of 3D FER from feature points (e.g. the
    83 points BU-3DFE ships; Soyel and Demirel, "Facial expression
    recognition using 3D facial feature distances", ICIAR 2007), used here
    without labels. It needs landmarks and **subject ids, no expression
    labels**.

    Args:
        landmarks (np.ndarray): ``(N, L, 3)`` landmarks, mm.
        subjects (Sequence): ``(N,)`` subject ids.
        reference (np.ndarray, optional): ``(L, 3)`` initial reference.
            Defaults to the first set.
        iterations (int): Procrustes rounds. Defaults to 2.

    Returns:
        np.ndarray: ``(N, L * 3)`` float64 descriptors, unit rows (a
        subject with one scan gives a zero row).

    Raises:
        ValueError: On a bad shape, mismatched lengths, or
            ``iterations < 1``.
    """
    a = np.asarray(landmarks, dtype=np.float64)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f'landmarks must be (N, L, 3), got {a.shape}')
    subjects = np.asarray([str(s) for s in subjects])
    if subjects.shape[0] != a.shape[0]:
        raise ValueError(f'{a.shape[0]} landmark sets but '
                         f'{subjects.shape[0]} subject ids')
    if iterations < 1:
        raise ValueError(f'iterations must be >= 1, got {iterations}')
    ref = a[0] if reference is None else np.asarray(reference, np.float64)
    for _ in range(iterations):
        aligned = procrustes_align(a, ref)
        ref = aligned.mean(axis=0)
    _, inverse = np.unique(subjects, return_inverse=True)
    inverse = inverse.reshape(-1)
    flat = aligned.reshape(len(a), -1)
    sums = np.zeros((inverse.max() + 1, flat.shape[1]))
    np.add.at(sums, inverse, flat)
    counts = np.bincount(inverse)[:, None]
    flat = flat - (sums / counts)[inverse]
    norm = np.linalg.norm(flat, axis=1, keepdims=True)
    return np.where(norm > 1e-9, flat / np.maximum(norm, 1e-12), 0.0)


def pca_whiten(x: np.ndarray, num_components: int) -> np.ndarray:
    """Project rows on their top principal components, whiten, L2-normalise.

    ``z = n(U_k sqrt(N))`` from the SVD ``x - mean = U S V^T`` (each of the
    ``k`` directions gets unit variance, so small but consistent
    displacements, such as a brow raise, weigh as much as large ones, such
    as an open jaw; PCA whitening, e.g. Bishop, "Pattern Recognition and
    Machine Learning", 2006, Sec. 12.1.3).

    Args:
        x (np.ndarray): ``(N, F)`` rows.
        num_components (int): ``k``, at most ``min(N, F)``.

    Returns:
        np.ndarray: ``(N, k)`` float64 unit rows.

    Raises:
        ValueError: If ``x`` is not 2-D or ``k`` is out of range.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f'x must be (N, F), got shape {x.shape}')
    if not 1 <= num_components <= min(x.shape):
        raise ValueError(f'num_components must be in [1, {min(x.shape)}], '
                         f'got {num_components}')
    u, _, _ = np.linalg.svd(x - x.mean(axis=0), full_matrices=False)
    z = u[:, :num_components] * np.sqrt(len(x))
    norm = np.linalg.norm(z, axis=1, keepdims=True)
    return z / np.maximum(norm, 1e-12)
