# Copyright (c) mmfer4d contributors. All rights reserved.
"""SMILE-VLM: multiview vision-language pre-training for 3D/4D expressions.

Behzad, "SMILE-VLM", arXiv 2506.01203. The algorithm only wires its parts:
the vision side of :class:`BaseMultiViewModel`, a text encoder on a prompt
bank, and :class:`SMILEVLMHead` with the three objectives.
"""
import copy
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmpretrain.structures import DataSample
from torch import nn

from mmfer4d.registry import MODELS
from ..text.prompt_bank import PromptBank
from .base_multi_view_model import BaseMultiViewModel

_TEXT_SOURCES = ('label', 'pseudo', 'none')
# Arguments of the single-class SMILEVLM before the model family, and where
# they went.
_MOVED = {
    'loss_mv': 'head.loss_mv (SMILEVLMHead)',
    'loss_vl': 'head.loss_vl (SMILEVLMHead)',
    'loss_cmr': 'head.loss_cmr (SMILEVLMHead)',
    'vl_fused_weight': 'head.vl_fused_weight (SMILEVLMHead)',
    'vl_view_weight': 'head.vl_view_weight (SMILEVLMHead)',
    'zero_shot_logit_scale': 'head.zero_shot_logit_scale (SMILEVLMHead)',
    'freeze': "type='MultiViewClassifier' (linear probe: freeze=True)",
}


@MODELS.register_module()
class SMILEVLM(BaseMultiViewModel):
    """SMILE-VLM dual encoder (pre-training and zero-shot prediction).

    Vision side: :class:`BaseMultiViewModel` (a zoo backbone shared by all
    views of ``(N, V, C, H, W)`` or all frames and views of
    ``(N, T, V, C, H, W)``, neck, projector to the joint space ``(N, V,
    D)``, view and temporal fusion to ``(N, D)``). Text side:
    :class:`OpenCLIPTextEncoder` on a :class:`PromptBank` of ``classes``.
    Objectives: ``head`` (:class:`SMILEVLMHead`) returns ``loss_mv``, and
    unless ``text_source='none'`` ``loss_vl`` and ``loss_cmr``.

    The text of a sample is one phrasing of its class, drawn by a seeded
    generator that checkpoints save and restore (:meth:`get_extra_state`):
    the ground truth (``'label'``) or the pseudo-label that
    :class:`PseudoLabelHook` attached to its data sample as
    ``pseudo_label`` (``'pseudo'``; -1, no text yet, gives only
    ``loss_mv``). Prediction is zero-shot: scores are the softmax of the
    scaled cosine similarities with the ensembled class prompts. Linear
    probes and fine-tuning of a SMILE-VLM checkpoint are
    :class:`MultiViewClassifier` configs.

    Args:
        backbone (dict): Zoo backbone config; ``in_channels`` follows the
            rendered modalities when left out (see
            :class:`BaseMultiViewModel`).
        classes (Sequence[str]): Class names in label order.
        neck, projector, view_fusion, temporal_fusion,
        temporal_fusion_order: See :class:`BaseMultiViewModel`.
        text_encoder (dict): Defaults to
            ``dict(type='OpenCLIPTextEncoder')``; ``out_channels`` is set
            to the projector's. Locked (no gradients) with
            ``text_source='none'``.
        prompt_family (str): Prompt family name or JSON path. Defaults to
            ``'default'``.
        intensity_aware_prompts (bool): Sample intensity phrasings from the
            ``intensity`` metainfo. Defaults to False.
        text_source (str): ``'label'``, ``'pseudo'`` or ``'none'`` (only
            ``loss_mv``). Defaults to ``'label'``.
        head (dict, optional): Defaults to ``dict(type='SMILEVLMHead')``;
            with ``text_source='none'`` its text losses are not built.
        seed (int): Seed of prompt sampling. Defaults to 0.
        data_preprocessor (dict | nn.Module, optional): See
            :class:`BaseMultiViewModel`.
        init_cfg (dict, optional): E.g. ``dict(type='Pretrained',
            checkpoint=...)``.

    Raises:
        ValueError: For an unknown ``text_source`` or
            ``temporal_fusion_order``, missing ``classes`` or
            ``text_encoder``, ``predict_mode`` other than ``'zero_shot'``
            (``'head'`` is :class:`MultiViewClassifier`), or an argument of
            the former single-class SMILEVLM (the message says where it
            went).
    """

    def __init__(self,
                 backbone: dict,
                 classes: Optional[Sequence[str]] = None,
                 neck: Optional[dict] = None,
                 projector: Optional[dict] = None,
                 view_fusion: Optional[dict] = None,
                 temporal_fusion: Optional[dict] = None,
                 temporal_fusion_order: str = 'before',
                 text_encoder: Optional[dict] = dict(
                     type='OpenCLIPTextEncoder'),
                 prompt_family: str = 'default',
                 intensity_aware_prompts: bool = False,
                 text_source: str = 'label',
                 head: Optional[dict] = None,
                 seed: int = 0,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[dict] = None,
                 **kwargs):
        predict_mode = kwargs.pop('predict_mode', 'zero_shot')
        if predict_mode != 'zero_shot':
            raise ValueError(
                f"predict_mode={predict_mode!r}: SMILEVLM predicts zero-shot;"
                " a classification head ('head') is "
                "type='MultiViewClassifier'")
        for key in kwargs:
            raise ValueError(
                f'SMILEVLM got {key}=...: ' +
                (f'moved to {_MOVED[key]}' if key in _MOVED else
                 'not an argument'))
        if text_source not in _TEXT_SOURCES:
            raise ValueError(f'text_source must be one of {_TEXT_SOURCES}, '
                             f'got {text_source!r}')
        if not classes:
            raise ValueError('SMILEVLM needs `classes` (the prompts)')
        if text_encoder is None:
            raise ValueError('SMILEVLM needs a `text_encoder`')
        super().__init__(
            backbone=backbone,
            neck=neck,
            projector=projector,
            view_fusion=view_fusion,
            temporal_fusion=temporal_fusion,
            temporal_fusion_order=temporal_fusion_order,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.classes = tuple(classes)
        self.text_source = text_source
        self.intensity_aware_prompts = intensity_aware_prompts

        text_encoder = copy.deepcopy(text_encoder)
        text_encoder['out_channels'] = self.embed_dims
        self.text_encoder = MODELS.build(text_encoder)
        self.prompt_bank = PromptBank(classes, prompt_family,
                                      intensity_aware_prompts)
        head = copy.deepcopy(head or dict(type='SMILEVLMHead'))
        if text_source == 'none':
            # Only the losses an objective uses, so that every trainable
            # parameter gets a gradient in 'loss' mode.
            head.update(loss_vl=None, loss_cmr=None)
            self.text_encoder.requires_grad_(False)
        self.head = MODELS.build(head)
        self._generator = torch.Generator().manual_seed(seed)
        self._register_load_state_dict_pre_hook(_rename_former_keys)

    @property
    def num_classes(self) -> int:
        """Number of classes (of the prompts)."""
        return len(self.classes)

    # ------------------------------------------------------------------
    # Text side
    # ------------------------------------------------------------------
    def prompt_embeddings(self) -> torch.Tensor:
        """Joint-space embeddings ``(P, D)`` of the prompt bank."""
        return self.text_encoder(self.prompt_bank.prompts)

    def class_text_embeddings(self) -> torch.Tensor:
        """Ensembled, L2-normalised class embeddings ``(K, D)``."""
        return self.prompt_bank.ensemble(self.prompt_embeddings())

    def text_labels(self, data_samples: List[DataSample],
                    device: torch.device) -> torch.Tensor:
        """Class of every sample's text ``(N,)``, -1 where none.

        Raises:
            ValueError: Without data samples, or with
                ``text_source='pseudo'`` if a sample lacks the
                ``pseudo_label`` that :class:`PseudoLabelHook` attaches.
        """
        if data_samples is None:
            raise ValueError(f"text_source={self.text_source!r} needs data "
                             'samples in loss mode')
        if self.text_source == 'label':
            return torch.stack([
                ds.gt_label.reshape(-1)[0] for ds in data_samples
            ]).long().to(device)
        labels = []
        for i, ds in enumerate(data_samples):
            if 'pseudo_label' not in ds:
                raise ValueError(
                    "text_source='pseudo' needs the `pseudo_label` that "
                    f'PseudoLabelHook attaches to data sample {i}: add '
                    "dict(type='PseudoLabelHook') to custom_hooks")
            labels.append(ds.pseudo_label.reshape(-1)[0])
        return torch.stack(labels).long().to(device)

    def sample_prompts(self, labels: torch.Tensor,
                       data_samples: List[DataSample]) -> torch.Tensor:
        """One phrasing of its class for every sample with ``labels >= 0``.

        Returns:
            torch.Tensor: ``(N',)`` indices into the prompt bank, in batch
            order.
        """
        idx = (labels >= 0).nonzero(as_tuple=True)[0]
        intensities = None
        if self.intensity_aware_prompts:
            intensities = [
                int(data_samples[i].metainfo.get('intensity', -1))
                for i in idx.tolist()
            ]
        return self.prompt_bank.sample(
            labels[idx], intensities, generator=self._generator)

    def get_extra_state(self) -> torch.Tensor:
        """The prompt generator's state (saved in the state dict)."""
        return self._generator.get_state()

    def set_extra_state(self, state: torch.Tensor) -> None:
        """Restore the prompt generator's state."""
        self._generator.set_state(torch.as_tensor(state).cpu())

    # ------------------------------------------------------------------
    # Modes
    # ------------------------------------------------------------------
    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        """``loss_mv``, ``loss_vl`` and ``loss_cmr`` of a batch.

        Args:
            inputs (torch.Tensor): ``(N, V, C, H, W)`` or
                ``(N, T, V, C, H, W)``.
            data_samples (list[DataSample]): With ``gt_label``
                (``text_source='label'``) or ``pseudo_label``.
        """
        fused, per_view = self.extract_feat(inputs)
        if self.text_source == 'none':
            return self.head.loss(fused, per_view)
        labels = self.text_labels(data_samples, fused.device)
        prompts = self.prompt_embeddings()  # (P, D)
        prompt_idx = None
        if self.head.enough_pairs(labels):
            prompt_idx = self.sample_prompts(labels, data_samples)
        return self.head.loss(fused, per_view, prompts, labels, prompt_idx)

    def predict(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None,
                **kwargs) -> List[DataSample]:
        """Zero-shot ``pred_score`` ``(K,)``, ``pred_label`` and the fused
        ``embedding`` ``(D,)`` of every sample."""
        fused, _ = self.extract_feat(inputs)
        if data_samples is None:
            data_samples = [DataSample() for _ in range(fused.shape[0])]
        data_samples = self.head.predict(fused, self.class_text_embeddings(),
                                         data_samples)
        return self.with_embeddings(data_samples, fused)


def _rename_former_keys(state_dict, prefix, *args) -> None:
    """Load checkpoints of the single-class SMILEVLM, whose losses (the
    learnt temperature ``loss_vl.logit_scale``) now live in the head."""
    for key in list(state_dict):
        rest = key[len(prefix):]
        if key.startswith(prefix) and rest.startswith(
                ('loss_mv.', 'loss_vl.', 'loss_cmr.')):
            state_dict[prefix + 'head.' + rest] = state_dict.pop(key)
