# Copyright (c) mmfer4d contributors. All rights reserved.
"""SMILE-VLM text side: an ``open_clip`` text tower plus a projection."""
import os.path as osp
import warnings
from typing import Dict, Optional, Sequence, Tuple

import open_clip
import open_clip.pretrained
import torch
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from open_clip.model import _build_text_tower
from torch import nn

from mmfer4d.registry import MODELS
from mmfer4d.utils import safe_load_checkpoint

__all__ = ['OpenCLIPTextEncoder', 'text_tower_settings']

# Prefixes that checkpoints wrap the text tower's keys in (DDP, mmengine,
# CustomTextCLIP, our own encoder).
_PREFIXES = ('module.', 'model.', 'state_dict.', 'text_encoder.', 'text.',
             'tower.')
# Keys of a full CLIP checkpoint that are not the text tower.
_NON_TEXT = ('visual.', 'logit_scale', 'logit_bias', 'attn_mask')
_SUFFIXES = ('.pt', '.pth', '.bin', '.safetensors', '.ckpt')


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


def _is_path(pretrained: str) -> bool:
    """A local file, or what looks like one (a separator or a suffix)."""
    return osp.isfile(pretrained) or osp.sep in pretrained or \
        pretrained.endswith(_SUFFIXES)


def text_tower_settings(model_name: str,
                        pretrained: Optional[str] = None,
                        quick_gelu: Optional[bool] = None,
                        text_cfg_overrides: Optional[dict] = None) -> dict:
    """The open_clip settings that a text tower is built with.

    The architecture comes from ``open_clip.get_model_config(model_name)``
    (plus ``text_cfg_overrides``). The activation comes, in this order,
    from ``quick_gelu``, from the pretrained tag's own config
    (``open_clip.get_pretrained_cfg(model_name, tag)['quick_gelu']``: OpenAI
    and LAION-400M weights were trained with QuickGELU, though the plain
    model names say GELU) or from the model config (``'-quickgelu'`` names).

    Args:
        model_name (str): An open_clip model name.
        pretrained (str, optional): A pretrained tag, a local path or None.
            Defaults to None.
        quick_gelu (bool, optional): Force QuickGELU (True) or GELU (False).
            Defaults to None (the tag's, else the model config's).
        text_cfg_overrides (dict, optional): ``CLIPTextCfg`` fields to
            override. Defaults to None.

    Returns:
        dict: ``embed_dim`` (int), ``text_cfg`` (dict), ``quick_gelu``
        (bool) and ``tag_cfg`` (the tag's pretrained config, ``{}`` for a
        path or None).

    Raises:
        ValueError: If ``model_name`` is not an open_clip model, or
            ``pretrained`` is neither a path nor one of its tags.
    """
    model_cfg = open_clip.get_model_config(model_name)
    if model_cfg is None:
        raise ValueError(f'{model_name!r} is not an open_clip model (see '
                         'open_clip.list_models())')
    tag_cfg = {}
    if pretrained is not None and not _is_path(pretrained):
        tag_cfg = open_clip.get_pretrained_cfg(model_name, pretrained)
        if not tag_cfg:
            tags = open_clip.list_pretrained_tags_by_model(model_name)
            raise ValueError(
                f'{pretrained!r} is neither a file nor an open_clip '
                f'pretrained tag of {model_name!r} (tags: {tags})')
    if quick_gelu is None:
        quick_gelu = tag_cfg.get('quick_gelu',
                                 model_cfg.get('quick_gelu', False))
    text_cfg = dict(model_cfg['text_cfg'])
    text_cfg.update(text_cfg_overrides or {})
    return dict(
        embed_dim=model_cfg['embed_dim'],
        text_cfg=text_cfg,
        quick_gelu=bool(quick_gelu),
        tag_cfg=tag_cfg)


@MODELS.register_module()
class OpenCLIPTextEncoder(BaseModule):
    """An ``open_clip`` text tower, locked by default, and a trainable
    projection into the joint space.

    Only the text tower of ``model_name`` is built (open_clip's text-tower
    builder, with :func:`text_tower_settings`), so no vision tower is ever
    constructed, and the tower is built as the weights were trained: with
    a pretrained tag, its own ``quick_gelu`` setting (``'ViT-B-32'`` with
    ``'openai'`` runs QuickGELU, as OpenAI trained it).

    Args:
        model_name (str): An open_clip model name. Defaults to ``'ViT-B-32'``.
        pretrained (str, optional): An open_clip pretrained tag of
            ``model_name`` (e.g. ``'openai'``, ``'laion2b_s34b_b79k'``; the
            weight file is fetched by open_clip, from the Hugging Face hub
            where a network exists, and loaded with
            :func:`mmfer4d.utils.safe_load_checkpoint`), a local checkpoint
            path (``.safetensors``, or a torch / mmengine checkpoint,
            through the same loader; a full CLIP or text-only state dict,
            ``module.`` / ``text.`` etc. prefixes stripped; its tensors'
            shapes must fit ``model_name``'s tower), or None (random init).
            Defaults to None.
        frozen (bool): Lock the tower (no gradients, eval mode, tower
            outputs of a prompt set cached). The projection stays trainable.
            Defaults to True.
        out_channels (int): Joint-space size ``D``. Defaults to 512.
        quick_gelu (bool, optional): QuickGELU (True) or GELU (False) in the
            tower. Defaults to None: the tag's setting, else the model
            name's (True for ``'-quickgelu'`` names). A local checkpoint's
            activation cannot be read from its weights: set it to how the
            checkpoint was trained. A value that contradicts the tag warns.
        text_cfg_overrides (dict, optional): Fields of open_clip's
            ``CLIPTextCfg`` to override (e.g. ``dict(layers=1, width=64,
            heads=2)`` for tests); a pretrained tag or checkpoint must then
            match. Defaults to None.
        init_cfg (dict, optional): Initialisation config. Defaults to None.

    Raises:
        ValueError: If ``model_name`` is not an open_clip model,
            ``pretrained`` is neither a path nor one of its tags, or a
            checkpoint does not fit the tower (the file and the first
            mismatching tensor are named).
        FileNotFoundError: If ``pretrained`` looks like a path but is missing.
        mmfer4d.utils.CheckpointRefusedError: If the weight file pickles
            anything beyond weights.
    """

    def __init__(self,
                 model_name: str = 'ViT-B-32',
                 pretrained: Optional[str] = None,
                 frozen: bool = True,
                 out_channels: int = 512,
                 quick_gelu: Optional[bool] = None,
                 text_cfg_overrides: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        settings = text_tower_settings(model_name, pretrained, quick_gelu,
                                       text_cfg_overrides)
        text_cfg = settings['text_cfg']
        self.model_name = model_name
        # Read by PseudoLabelHook(match='auto'): prompts mean something
        # only with pretrained weights.
        self.pretrained = pretrained
        self.embed_dim = settings['embed_dim']
        self.quick_gelu = settings['quick_gelu']
        self.context_length = text_cfg.get('context_length', 77)
        self.tower = _build_text_tower(
            self.embed_dim, text_cfg, quick_gelu=self.quick_gelu)
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

    def _fetch_tag(self, tag: str) -> Tuple[str, str]:
        """The local weight file of an open_clip tag, and its description.

        Warns if the tower's activation is not the one the tag was trained
        with.
        """
        tag_cfg = text_tower_settings(self.model_name, tag)['tag_cfg']
        tag_quick_gelu = bool(tag_cfg.get('quick_gelu', False))
        if tag_quick_gelu != self.quick_gelu:
            warnings.warn(
                f'open_clip {self.model_name}/{tag} was trained with '
                f'{"QuickGELU" if tag_quick_gelu else "GELU"}, but this text '
                f'tower uses {"QuickGELU" if self.quick_gelu else "GELU"} '
                f'(quick_gelu={self.quick_gelu}); its features will be off. '
                'Leave quick_gelu=None to follow the tag.')
        path = open_clip.pretrained.download_pretrained(tag_cfg)
        if not path:
            raise ValueError(f'open_clip has no weight file for '
                             f'{self.model_name}/{tag}')
        return path, f'open_clip {self.model_name}/{tag} ({path})'

    def load_pretrained(self, pretrained: str) -> None:
        """Load tower weights from an open_clip tag or a local checkpoint,
        through :func:`mmfer4d.utils.safe_load_checkpoint`.

        Raises:
            FileNotFoundError: If ``pretrained`` looks like a path (has a
                separator or a checkpoint suffix) but does not exist.
            ValueError: If the weights do not fit the tower.
            mmfer4d.utils.CheckpointRefusedError: If the file pickles
                anything beyond weights.
        """
        if _is_path(pretrained):
            if not osp.isfile(pretrained):
                raise FileNotFoundError(
                    f'{pretrained}: text encoder checkpoint not found')
            path, source = pretrained, pretrained
            MMLogger.get_current_instance().info(
                f'{source}: text tower built with '
                f'{"QuickGELU" if self.quick_gelu else "GELU"} (quick_gelu='
                f'{self.quick_gelu}); set quick_gelu to how it was trained')
        else:
            path, source = self._fetch_tag(pretrained)
        state = safe_load_checkpoint(path, map_location='cpu')
        if isinstance(state, dict) and 'state_dict' in state:
            state = state['state_dict']
        if not isinstance(state, dict):
            raise ValueError(f'{source}: not a state dict but a '
                             f'{type(state).__name__}')
        state = _strip_prefixes(state)
        self._check_shapes(state, source)
        missing, unexpected = self.tower.load_state_dict(state, strict=False)
        if missing:
            raise ValueError(f'{source}: text tower keys missing from the '
                             f'checkpoint: {missing[:5]}...')
        if unexpected:
            MMLogger.get_current_instance().warning(
                f'{source}: ignored {len(unexpected)} non-text keys, e.g. '
                f'{unexpected[:3]}')
        self._cache.clear()

    def _check_shapes(self, state: dict, source: str) -> None:
        """Every tensor of ``state`` has the shape the tower expects.

        Raises:
            ValueError: Naming the file, the first mismatching tensor and
                both shapes.
        """
        own = self.tower.state_dict()
        mismatched = [(key, tuple(getattr(value, 'shape', ())),
                       tuple(own[key].shape))
                      for key, value in state.items() if key in own
                      and tuple(getattr(value, 'shape', ())) != tuple(
                          own[key].shape)]
        if mismatched:
            key, theirs, ours = mismatched[0]
            raise ValueError(
                f'{source}: does not fit the text tower of '
                f'{self.model_name!r}: {key} is {theirs} in the checkpoint '
                f'but {ours} in the tower ({len(mismatched)} tensors differ)'
                '; build the encoder with the model_name (and '
                'text_cfg_overrides) the checkpoint was trained with')

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

        When the tower is frozen, outputs of a prompt set are computed once,
        in float32 also under autocast, and cached (cleared when weights are
        loaded); otherwise recomputed with gradients.
        """
        device = self.proj.weight.device
        key = tuple(prompts)
        if self.frozen and key in self._cache:
            return self._cache[key].to(device)
        tokens = self.tokenize(prompts).to(device)
        if self.frozen:
            # Computed once, so in float32 also under autocast: the cache
            # serves autocast training and float32 testing alike.
            with torch.no_grad(), torch.autocast(device_type=device.type,
                                                 enabled=False):
                feats = self.tower(tokens).float()
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
