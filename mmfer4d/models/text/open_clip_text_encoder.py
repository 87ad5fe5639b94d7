# Copyright (c) mmfer4d contributors. All rights reserved.
"""SMILE-VLM text side: an ``open_clip`` text tower plus a projection."""
import os.path as osp
from typing import Dict, Optional, Sequence, Tuple

import open_clip
import torch
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from open_clip.model import _build_text_tower
from torch import nn

from mmfer4d.registry import MODELS

# Prefixes that checkpoints wrap the text tower's keys in (DDP, mmengine,
# CustomTextCLIP, our own encoder).
_PREFIXES = ('module.', 'model.', 'state_dict.', 'text_encoder.', 'text.',
             'tower.')
# Keys of a full CLIP checkpoint that are not the text tower.
_NON_TEXT = ('visual.', 'logit_scale', 'logit_bias', 'attn_mask')


def _strip_prefixes(
        state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    out = {}
    for key, value in state_dict.items():
        changed = True
        while changed:
            changed = False
            for prefix in _PREFIXES:
                if key.startswith(prefix):
                    key = key[len(prefix):]
                    changed = True
        if key.startswith(_NON_TEXT):
            continue
        out[key] = value
    return out


def _load_file(path: str) -> dict:
    """A state dict from ``.safetensors`` or a torch / mmengine checkpoint.

    Tensors-only files load with ``weights_only=True``; mmengine checkpoints
    (which also pickle the message hub) need the full unpickler, through
    mmengine's loader.
    """
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        return load_file(path)
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except Exception:  # noqa: BLE001 - not a plain tensor file
        from mmengine.runner import CheckpointLoader
        return CheckpointLoader.load_checkpoint(path, map_location='cpu')


@MODELS.register_module()
class OpenCLIPTextEncoder(BaseModule):
    """An ``open_clip`` text tower, locked by default, and a trainable
    projection into the joint space.

    Only the text tower of ``model_name`` is built (from
    ``open_clip.get_model_config`` and open_clip's text-tower builder), so no
    vision tower is ever constructed for a random-init or local checkpoint.

    Args:
        model_name (str): An open_clip model name. Defaults to ``'ViT-B-32'``.
        pretrained (str, optional): An open_clip pretrained tag (e.g.
            ``'openai'``, ``'laion2b_s34b_b79k'``; loaded through
            ``open_clip.create_model(model_name, pretrained=tag)``, which
            downloads where a network exists), a local checkpoint path (a
            full CLIP or text-only state dict; ``module.`` / ``text.`` etc.
            prefixes are stripped), or None (random init). Defaults to None.
        frozen (bool): Lock the tower (no gradients, eval mode, tower
            outputs of a prompt set cached). The projection stays trainable.
            Defaults to True.
        out_channels (int): Joint-space size ``D``. Defaults to 512.
        text_cfg_overrides (dict, optional): Fields of open_clip's
            ``CLIPTextCfg`` to override (e.g. ``dict(layers=1, width=64,
            heads=2)`` for tests); a pretrained tag or checkpoint must then
            match. Defaults to None.
        init_cfg (dict, optional): Initialisation config. Defaults to None.

    Raises:
        ValueError: If ``model_name`` is not an open_clip model, or a
            checkpoint does not fit the tower.
        FileNotFoundError: If ``pretrained`` looks like a path but is missing.
    """

    def __init__(self,
                 model_name: str = 'ViT-B-32',
                 pretrained: Optional[str] = None,
                 frozen: bool = True,
                 out_channels: int = 512,
                 text_cfg_overrides: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        model_cfg = open_clip.get_model_config(model_name)
        if model_cfg is None:
            raise ValueError(f'{model_name!r} is not an open_clip model (see '
                             'open_clip.list_models())')
        text_cfg = dict(model_cfg['text_cfg'])
        text_cfg.update(text_cfg_overrides or {})
        self.model_name = model_name
        self.embed_dim = model_cfg['embed_dim']
        self.context_length = text_cfg.get('context_length', 77)
        self.tower = _build_text_tower(
            self.embed_dim,
            text_cfg,
            quick_gelu=model_cfg.get('quick_gelu', False))
        self.tokenizer = open_clip.get_tokenizer(
            model_name, context_length=self.context_length)
        self.proj = nn.Linear(self.embed_dim, out_channels)
        self.out_channels = out_channels
        self.frozen = frozen
        # tuple(prompts) -> tower output (P, E) on CPU; see encode_tower.
        self._cache: Dict[Tuple[str, ...], torch.Tensor] = {}
        self._register_load_state_dict_pre_hook(self._clear_cache_hook)
        if pretrained is not None:
            self.load_pretrained(pretrained)
        if frozen:
            self.tower.requires_grad_(False)
            self.tower.eval()

    def _clear_cache_hook(self, *args, **kwargs):
        self._cache.clear()

    def load_pretrained(self, pretrained: str) -> None:
        """Load tower weights from an open_clip tag or a local checkpoint.

        Raises:
            FileNotFoundError: If ``pretrained`` looks like a path (has a
                separator or a checkpoint suffix) but does not exist.
            ValueError: If the weights do not fit the tower.
        """
        looks_like_path = (
            osp.sep in pretrained or pretrained.endswith(
                ('.pt', '.pth', '.bin', '.safetensors', '.ckpt')))
        if osp.isfile(pretrained):
            state = _load_file(pretrained)
            source = pretrained
        elif looks_like_path:
            raise FileNotFoundError(
                f'{pretrained}: text encoder checkpoint not found')
        else:
            clip = open_clip.create_model(
                self.model_name, pretrained=pretrained)
            text = getattr(clip, 'text', None)
            state = (
                text.state_dict()
                if isinstance(text, nn.Module) else clip.state_dict())
            source = f'open_clip {self.model_name}/{pretrained}'
        if isinstance(state, dict) and 'state_dict' in state:
            state = state['state_dict']
        state = _strip_prefixes(state)
        try:
            missing, unexpected = self.tower.load_state_dict(
                state, strict=False)
        except RuntimeError as e:
            raise ValueError(f'{source}: weights do not fit the text tower '
                             f'({e})') from e
        if missing:
            raise ValueError(f'{source}: text tower keys missing from the '
                             f'checkpoint: {missing[:5]}...')
        if unexpected:
            MMLogger.get_current_instance().warning(
                f'{source}: ignored {len(unexpected)} non-text keys, e.g. '
                f'{unexpected[:3]}')
        self._cache.clear()

    def train(self, mode: bool = True) -> 'OpenCLIPTextEncoder':
        """Keep a frozen tower in eval mode."""
        super().train(mode)
        if self.frozen:
            self.tower.eval()
        return self

    def tokenize(self, prompts: Sequence[str]) -> torch.Tensor:
        """Token ids ``(P, context_length)`` of ``prompts``."""
        return self.tokenizer(list(prompts))

    def encode_tower(self, prompts: Sequence[str]) -> torch.Tensor:
        """Tower outputs ``(P, E)`` (before the projection).

        When the tower is frozen, outputs of a prompt set are computed once
        and cached (cleared when weights are loaded); otherwise recomputed
        with gradients.
        """
        device = self.proj.weight.device
        key = tuple(prompts)
        if self.frozen and key in self._cache:
            return self._cache[key].to(device)
        tokens = self.tokenize(prompts).to(device)
        if self.frozen:
            with torch.no_grad():
                feats = self.tower(tokens)
            self._cache[key] = feats.detach().cpu()
            return feats
        return self.tower(tokens)

    def forward(self, prompts: Sequence[str]) -> torch.Tensor:
        """Embed prompts into the joint space.

        Args:
            prompts (Sequence[str]): ``P`` prompts.

        Returns:
            torch.Tensor: ``(P, D)`` projected embeddings (not normalised).
        """
        return self.proj(self.encode_tower(prompts))
