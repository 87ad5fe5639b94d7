# Copyright (c) mmfer4d contributors. All rights reserved.
"""Prompt families: several phrasings per expression class.

A family is a JSON file in ``mmfer4d/models/text/prompts/`` (or any path)::

    {"description": "...",
     "fallback": ["a face showing {name}"],          # classes not listed
     "intensity_templates": {"1": ["a slightly {adjective} face"], ...},
     "classes": {"happiness": {"noun": "happiness", "adjective": "happy",
                               "phrasings": ["a smiling person", ...]}}}

Training picks one phrasing per sample (optionally one of the intensity
phrasings for intensity 1..4, the contract's low..high scale); prediction
averages the class's phrasing embeddings (prompt ensembling, Radford et al.
2021, Sec. 3.1.4).
"""
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F

PROMPT_DIR = osp.join(osp.dirname(__file__), 'prompts')


def list_prompt_families() -> List[str]:
    """Names of the families shipped with the package."""
    import glob
    return sorted(
        osp.splitext(osp.basename(p))[0]
        for p in glob.glob(osp.join(PROMPT_DIR, '*.json')))


def load_prompt_family(family: str) -> dict:
    """Read a prompt family by name (shipped) or JSON path.

    Raises:
        FileNotFoundError: If the family is neither shipped nor a file.
        ValueError: If the file is not valid JSON or lacks ``classes``.
    """
    path = family if family.endswith('.json') else osp.join(
        PROMPT_DIR, f'{family}.json')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: no such prompt family (shipped: '
                                f'{", ".join(list_prompt_families())})')
    try:
        with open(path, encoding='utf-8') as f:
            data = json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f'{path}: invalid JSON ({e})') from e
    if not isinstance(data.get('classes'), dict):
        raise ValueError(f'{path}: missing the "classes" mapping')
    return data


class PromptBank:
    """The fixed prompt set of a model and how classes index into it.

    Args:
        classes (Sequence[str]): Class names in label order.
        family (str): Shipped family name (``'default'``, ``'simple'``,
            ``'descriptive'``) or a JSON path. Defaults to ``'default'``.
        intensity_aware (bool): Add intensity phrasings (used by
            :meth:`sample` for intensities 1..4). Defaults to False.

    Attributes:
        prompts (list[str]): All distinct prompts, the text encoder's input.
        class_indices (list[list[int]]): Indices into ``prompts`` of each
            class's plain phrasings (the ensemble).
        intensity_indices (list[dict[int, list[int]]]): Per class, indices of
            the phrasings of each intensity 1..4 (empty without
            ``intensity_aware``).

    Raises:
        ValueError: If ``classes`` is empty or has duplicates.
    """

    def __init__(self,
                 classes: Sequence[str],
                 family: str = 'default',
                 intensity_aware: bool = False):
        classes = list(classes)
        if not classes:
            raise ValueError('PromptBank needs at least one class')
        if len(set(classes)) != len(classes):
            raise ValueError(f'duplicate class names in {classes}')
        data = load_prompt_family(family)
        self.classes = classes
        self.family = family
        self.intensity_aware = intensity_aware
        self.prompts: List[str] = []
        self._lookup: Dict[str, int] = {}
        self.class_indices: List[List[int]] = []
        self.intensity_indices: List[Dict[int, List[int]]] = []
        fallback = data.get('fallback') or ['a face showing {name}']
        for name in classes:
            entry = data['classes'].get(name) or data['classes'].get(
                name.lower())
            if entry is None:
                words = dict(name=name, noun=name, adjective=name)
                phrasings = [t.format(**words) for t in fallback]
            else:
                words = dict(
                    name=name,
                    noun=entry.get('noun', name),
                    adjective=entry.get('adjective', name))
                phrasings = list(entry['phrasings'])
            self.class_indices.append([self._add(p) for p in phrasings])
            by_intensity: Dict[int, List[int]] = {}
            if intensity_aware and name != 'neutral':
                for level, templates in data.get('intensity_templates',
                                                 {}).items():
                    by_intensity[int(level)] = [
                        self._add(t.format(**words)) for t in templates
                    ]
            self.intensity_indices.append(by_intensity)

    def _add(self, prompt: str) -> int:
        if prompt not in self._lookup:
            self._lookup[prompt] = len(self.prompts)
            self.prompts.append(prompt)
        return self._lookup[prompt]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def sample(self,
               labels: torch.Tensor,
               intensities: Optional[Union[Sequence[int],
                                           torch.Tensor]] = None,
               generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Pick one prompt per sample.

        Args:
            labels (torch.Tensor): Class indices ``(N,)``.
            intensities (Sequence[int] | Tensor, optional): Per-sample
                intensity (0 neutral, 1..4 low..high, -1 unknown); used only
                when the bank is intensity-aware. Defaults to None.
            generator (torch.Generator, optional): RNG. Defaults to None.

        Returns:
            torch.Tensor: Indices ``(N,)`` into :attr:`prompts` (long, on
            ``labels.device``).

        Raises:
            ValueError: If a label is outside ``[0, num_classes)``.
        """
        labels_cpu = labels.detach().cpu().long()
        if labels_cpu.numel() and (labels_cpu.min() < 0
                                   or labels_cpu.max() >= self.num_classes):
            raise ValueError(f'labels must be in [0, {self.num_classes}), '
                             f'got {labels_cpu.tolist()}')
        out = []
        rand = torch.rand(len(labels_cpu), generator=generator)
        for i, c in enumerate(labels_cpu.tolist()):
            choices = self.class_indices[c]
            if self.intensity_aware and intensities is not None:
                level = int(intensities[i])
                choices = self.intensity_indices[c].get(level, choices)
            out.append(choices[int(rand[i] * len(choices)) % len(choices)])
        return torch.tensor(out, dtype=torch.long, device=labels.device)

    def ensemble(self, prompt_embeddings: torch.Tensor) -> torch.Tensor:
        """Class embeddings by prompt ensembling.

        Args:
            prompt_embeddings (torch.Tensor): Embeddings ``(P, D)`` of
                :attr:`prompts`.

        Returns:
            torch.Tensor: ``(K, D)``, per class the mean of its L2-normalised
            plain phrasing embeddings, L2-normalised again.

        Raises:
            ValueError: If ``P`` differs from ``len(prompts)``.
        """
        if prompt_embeddings.shape[0] != len(self.prompts):
            raise ValueError(f'expected {len(self.prompts)} prompt '
                             f'embeddings, got {prompt_embeddings.shape[0]}')
        z = F.normalize(prompt_embeddings, dim=-1)
        out = torch.stack([z[idx].mean(dim=0) for idx in self.class_indices])
        return F.normalize(out, dim=-1)
