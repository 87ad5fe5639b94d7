# Copyright (c) mmfer4d contributors. All rights reserved.
"""Symmetric InfoNCE between face embeddings and expression prompts."""
import math
from typing import Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmfer4d.registry import MODELS
from ..utils import all_gather_cat, at_least_float32


def contrastive_targets(labels: Optional[torch.Tensor],
                        num_samples: int,
                        device: Optional[torch.device] = None,
                        dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Target distribution of every row of the similarity matrix.

    ``q_ij = 1[y_i = y_j] / #{k : y_k = y_i}``: uniform over the samples
    that share row ``i``'s class, hence over every copy of its class prompt.
    Without labels this is the identity (the CLIP diagonal).

    Args:
        labels (torch.Tensor, optional): Class indices ``(N,)``.
        num_samples (int): ``N``, used when ``labels`` is None.
        device (torch.device, optional): Device of the result. Defaults to
            None (that of ``labels``, else the CPU).
        dtype (torch.dtype): Floating type of the result. Defaults to
            ``torch.float32``.

    Returns:
        torch.Tensor: ``(N, N)``, every row sums to 1; symmetric.
    """
    if labels is None:
        return torch.eye(num_samples, device=device, dtype=dtype)
    same = (labels[:, None] == labels[None, :]).to(device=device, dtype=dtype)
    return same / same.sum(dim=1, keepdim=True)


@MODELS.register_module()
class VisionLanguageContrastiveLoss(nn.Module):
    """Vision-language contrastive alignment of SMILE-VLM (arXiv 2506.01203).

    Symmetric InfoNCE of CLIP (Radford et al. 2021) between L2-normalised
    visual embeddings ``v_i`` and their paired text embeddings ``t_i`` over
    the global batch, with a learnable temperature. With
    ``s = min(exp(logit_scale), max_logit_scale)`` and ``l_ij = s v_i . t_j``::

        L = 1/2 [ -1/N sum_i sum_j q_ij log softmax_j(l_i.)      (image->text)
                  -1/N sum_j sum_i q_ji log softmax_i(l_.j) ]    (text->image)

    **Multi-positive targets.** In FER many samples of a batch share a class
    and therefore the same (or an equivalent) prompt, so the CLIP diagonal
    target would push a face away from its own class's prompt paired with
    another sample. When ``labels`` are given, each row's target is uniform
    over all same-label entries, ``q_ij = 1[y_i = y_j] / #{k : y_k = y_i}``
    (the soft targets of SupCon, Khosla et al. 2020, and UniCL, Yang et al.
    2022), and the cross-entropy is taken against that distribution in both
    directions. ``q`` is symmetric, so the text->image direction uses the same
    matrix. Without labels, or with all labels distinct, ``q = I`` and this is
    exactly the CLIP loss. See :func:`contrastive_targets`.

    ``logit_scale`` is stored as a log (init ``log(1 / init_temperature)``),
    as in CLIP; it is clamped in the forward so that ``s <= max_logit_scale``
    (no gradient flows to it while clamped).

    Under ``torch.distributed`` the features (and labels) of all ranks are
    gathered, with gradients for the features, and every rank computes the
    full ``(N, N)`` loss of the global batch, like open_clip's ``ClipLoss``
    with ``local_loss=False, gather_with_grad=True``. The gather's backward
    sums over ranks and DDP averages, so gradients equal the single-process
    ones; ranks may hold different batch sizes.

    The parts follow open_clip's ``ClipLoss``: :meth:`get_ground_truth`
    (the targets ``q``), :meth:`get_logits` (``l``, also used for zero-shot
    prediction) and :meth:`forward` (gather, then cross-entropy both ways).

    Args:
        init_temperature (float): Initial temperature ``1 / s``.
            Defaults to 0.07.
        max_logit_scale (float): Upper bound of ``s``. Defaults to 100.0.
        learnable (bool): Whether ``logit_scale`` is a trained parameter;
            if False it is a buffer. Defaults to True.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.

    Raises:
        ValueError: If ``init_temperature`` or ``max_logit_scale`` is not
            positive, or ``1 / init_temperature > max_logit_scale``.
    """

    def __init__(self,
                 init_temperature: float = 0.07,
                 max_logit_scale: float = 100.0,
                 learnable: bool = True,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        name = type(self).__name__
        if init_temperature <= 0 or max_logit_scale <= 0:
            raise ValueError(f'{name}: init_temperature ({init_temperature}) '
                             f'and max_logit_scale ({max_logit_scale}) must '
                             'be positive')
        if 1.0 / init_temperature > max_logit_scale:
            raise ValueError(f'{name}: 1 / init_temperature = '
                             f'{1.0 / init_temperature:g} exceeds '
                             f'max_logit_scale = {max_logit_scale:g}')
        self.init_temperature = init_temperature
        self.max_logit_scale = max_logit_scale
        self.learnable = learnable
        self.loss_weight = loss_weight
        init = torch.tensor(math.log(1.0 / init_temperature))
        if learnable:
            self.logit_scale = nn.Parameter(init)
        else:
            self.register_buffer('logit_scale', init)

    def get_logit_scale(self) -> torch.Tensor:
        """The clamped scale ``s = min(exp(logit_scale), max_logit_scale)``.

        Returns:
            torch.Tensor: Scalar, differentiable w.r.t. ``logit_scale``.
        """
        return torch.clamp(
            self.logit_scale, max=math.log(self.max_logit_scale)).exp()

    def get_ground_truth(self,
                         labels: Optional[torch.Tensor],
                         num_samples: int,
                         device: Optional[torch.device] = None,
                         dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Target distribution ``q`` ``(N, N)`` of the logits' rows.

        The multi-positive targets of :func:`contrastive_targets` (the
        identity without labels), the counterpart of open_clip
        ``ClipLoss.get_ground_truth``.

        Args:
            labels (torch.Tensor, optional): Class indices ``(N,)`` of the
                (gathered) batch.
            num_samples (int): ``N``, used when ``labels`` is None.
            device (torch.device, optional): Device of the result.
            dtype (torch.dtype): Floating type. Defaults to float32.

        Returns:
            torch.Tensor: ``(N, N)``, rows sum to 1.
        """
        return contrastive_targets(labels, num_samples, device, dtype)

    @staticmethod
    def get_logits(visual: torch.Tensor, text: torch.Tensor,
                   logit_scale: Union[torch.Tensor, float]
                   ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Scaled cosine similarities of L2-normalised embeddings.

        ``l_ij = s v_i . t_j`` as in open_clip ``ClipLoss.get_logits``;
        nothing is gathered here (the loss gathers before calling it), so
        zero-shot prediction reuses it on a local batch against class
        prompts.

        Args:
            visual (torch.Tensor): Normalised visual embeddings ``(N, D)``.
            text (torch.Tensor): Normalised text embeddings ``(M, D)``.
            logit_scale (Tensor | float): ``s``, e.g.
                :meth:`get_logit_scale`.

        Returns:
            tuple[Tensor, Tensor]: logits per visual embedding ``(N, M)``
            and per text embedding ``(M, N)`` (its transpose).
        """
        logits_per_visual = logit_scale * visual @ text.T
        return logits_per_visual, logits_per_visual.T

    def forward(self,
                visual: torch.Tensor,
                text: torch.Tensor,
                labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Compute the loss.

        Args:
            visual (torch.Tensor): Visual embeddings ``(N, D)``, or per-view
                ``(N, V, D)``; in the latter case the loss is computed for
                every view against ``text`` and averaged over views.
            text (torch.Tensor): Paired prompt embeddings ``(N, D)``.
            labels (torch.Tensor, optional): Class indices ``(N,)``, integer;
                samples with equal labels are all positives of each other.
                Defaults to None (diagonal targets).

        Returns:
            torch.Tensor: Scalar float32 loss, times ``loss_weight``;
            computed in float32 also from half-precision inputs and under
            autocast.

        Raises:
            ValueError: On wrongly shaped or typed inputs.
        """
        name = type(self).__name__
        if visual.dim() not in (2, 3):
            raise ValueError(f'{name}: visual must be (N, D) or (N, V, D), '
                             f'got shape {tuple(visual.shape)}')
        if text.dim() != 2:
            raise ValueError(f'{name}: text must be (N, D), got shape '
                             f'{tuple(text.shape)}')
        if (visual.shape[0] != text.shape[0]
                or visual.shape[-1] != text.shape[-1]):
            raise ValueError(f'{name}: visual {tuple(visual.shape)} and text '
                             f'{tuple(text.shape)} disagree in N or D')
        if labels is not None:
            if (labels.shape != (visual.shape[0], )
                    or labels.is_floating_point() or labels.is_complex()):
                raise ValueError(f'{name}: labels must be an integer (N,) '
                                 f'tensor with N={visual.shape[0]}, got '
                                 f'{labels.dtype} {tuple(labels.shape)}')

        # In float32, also under autocast: bfloat16 keeps 8 mantissa bits,
        # so a cosine of 0.9 times a logit scale of 100 would be off by up to
        # 0.4 (and float16 may overflow in the exponentials).
        with torch.autocast(device_type=visual.device.type, enabled=False):
            visual = all_gather_cat(F.normalize(at_least_float32(visual),
                                                dim=-1))
            text = all_gather_cat(F.normalize(at_least_float32(text),
                                              dim=-1))
            if labels is not None:
                labels = all_gather_cat(labels.to(visual.device), grad=False)
            targets = self.get_ground_truth(
                labels, text.shape[0], device=text.device, dtype=text.dtype)

            scale = self.get_logit_scale()
            views = visual.unbind(dim=1) if visual.dim() == 3 else (visual, )
            loss = 0.
            for view in views:
                logits_per_visual, logits_per_text = self.get_logits(
                    view, text, scale)
                loss = loss + 0.5 * (
                    F.cross_entropy(logits_per_visual, targets) +
                    F.cross_entropy(logits_per_text, targets))
        return self.loss_weight * loss / len(views)

    def extra_repr(self) -> str:
        return (f'init_temperature={self.init_temperature}, '
                f'max_logit_scale={self.max_logit_scale}, '
                f'learnable={self.learnable}, '
                f'loss_weight={self.loss_weight}')
