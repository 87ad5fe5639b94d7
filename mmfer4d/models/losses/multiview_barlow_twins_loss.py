# Copyright (c) mmfer4d contributors. All rights reserved.
"""Barlow Twins redundancy reduction across the views of a face."""
import torch
import torch.nn as nn

from mmfer4d.registry import MODELS
from ..utils import all_gather_cat, at_least_float32


def batch_standardize(z: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Standardise every feature over the batch (dim 0).

    The same normalisation as ``nn.BatchNorm1d(affine=False)`` in training
    mode: biased variance, ``eps`` added under the square root.

    Args:
        z (torch.Tensor): Features ``(N, *, D)``; every entry of the
            trailing dimensions is standardised on its own.
        eps (float): Added to the variance. Defaults to 1e-5.

    Returns:
        torch.Tensor: ``(z - mean) / sqrt(var + eps)``, same shape as ``z``.
    """
    mean = z.mean(dim=0, keepdim=True)
    var = (z - mean).pow(2).mean(dim=0, keepdim=True)
    return (z - mean) / torch.sqrt(var + eps)


def multiview_barlow_twins(z: torch.Tensor,
                           lambd: float = 5e-3,
                           eps: float = 1e-5) -> torch.Tensor:
    """Barlow Twins loss averaged over all pairs of views.

    With ``Z^v`` the batch-standardised view ``v`` (:func:`batch_standardize`)
    and, for each pair ``v < w``, the cross-correlation matrix
    ``C^{vw} = Z^v^T Z^w / N`` (Zbontar et al. 2021, eq. 2), the loss is
    (eq. 1)::

        L = 1/P sum_{v<w} [ sum_i (1 - C^{vw}_ii)^2
                            + lambd * sum_{i != j} (C^{vw}_ij)^2 ]

    with ``P = V (V - 1) / 2``. The batch is whatever ``z`` holds: callers
    pass the global batch.

    When ``N <= D`` the off-diagonal term is computed without forming any
    ``(D, D)`` matrix, from ``||A^T B||_F^2 = <A A^T, B B^T>_F`` on the
    ``(N, N)`` Gram matrices, which keeps memory at ``O(V N^2)`` for the wide
    projectors Barlow Twins uses.

    Args:
        z (torch.Tensor): Embeddings ``(N, V, D)`` = batch, views, features,
            with ``V >= 2``.
        lambd (float): Weight of the off-diagonal (redundancy) term.
            Defaults to 5e-3.
        eps (float): Added to the batch variance. Defaults to 1e-5.

    Returns:
        torch.Tensor: Scalar loss, float32 for half-precision ``z``.
    """
    # Sums of D^2 or N^2 squared correlations overflow half precision:
    # compute in float32 at least, also under autocast.
    with torch.autocast(device_type=z.device.type, enabled=False):
        z = at_least_float32(z)
        num_samples, num_views, num_feats = z.shape
        z = batch_standardize(z, eps)
        pairs = torch.triu_indices(
            num_views, num_views, offset=1, device=z.device)

        # (P, D): diagonals C^{vw}_ii of every pair
        diag = torch.einsum('nvi,nwi->vwi', z, z)[pairs[0], pairs[1]]
        diag = diag / num_samples
        if num_samples <= num_feats:
            gram = torch.einsum('nvi,mvi->vnm', z, z)
            frob2 = torch.einsum('vnm,wnm->vw', gram, gram)[pairs[0], pairs[1]]
            frob2 = frob2 / num_samples**2
        else:
            frob2 = torch.stack([
                (z[:, v].T @ z[:, w] / num_samples).pow(2).sum()
                for v, w in pairs.T.tolist()
            ])
        on_diag = (1 - diag).pow(2).sum(dim=-1)
        off_diag = frob2 - diag.pow(2).sum(dim=-1)
        return (on_diag + lambd * off_diag).mean()


@MODELS.register_module()
class MultiViewBarlowTwinsLoss(nn.Module):
    """Multiview decorrelation loss of SMILE-VLM (Behzad, arXiv 2506.01203).

    The Barlow Twins objective (Zbontar et al. 2021, eq. 1-2) between every
    pair of rendered views of the same face, averaged over the pairs: it pulls
    the cross-correlation of two views' batch-standardised embeddings towards
    the identity, so views agree (diagonal 1) while features stay
    non-redundant (off-diagonal 0). See :func:`multiview_barlow_twins`.

    Under ``torch.distributed`` the embeddings of all ranks are gathered with
    gradients, so the batch statistics and ``N`` are those of the global
    batch and every rank computes the same loss; with DDP's gradient averaging
    the gradients equal those of one process holding the whole batch.

    Args:
        lambd (float): Weight of the off-diagonal term. Defaults to 5e-3.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        eps (float): Added to the batch variance before the square root.
            Defaults to 1e-5.
    """

    def __init__(self,
                 lambd: float = 5e-3,
                 loss_weight: float = 1.0,
                 eps: float = 1e-5) -> None:
        super().__init__()
        self.lambd = lambd
        self.loss_weight = loss_weight
        self.eps = eps

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Compute the loss.

        Args:
            z (torch.Tensor): Per-view embeddings ``(N, V, D)`` = local
                batch, views, features.

        Returns:
            torch.Tensor: Scalar loss, times ``loss_weight``.

        Raises:
            ValueError: If ``z`` is not 3-D or has fewer than 2 views.
        """
        if z.dim() != 3:
            raise ValueError(f'{type(self).__name__}: z must be (N, V, D), '
                             f'got shape {tuple(z.shape)}')
        if z.shape[1] < 2:
            raise ValueError(f'{type(self).__name__}: needs at least 2 views '
                             f'to correlate, got V={z.shape[1]} '
                             f'(shape {tuple(z.shape)})')
        z = all_gather_cat(z)
        loss = multiview_barlow_twins(z, self.lambd, self.eps)
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return (f'lambd={self.lambd}, loss_weight={self.loss_weight}, '
                f'eps={self.eps}')
