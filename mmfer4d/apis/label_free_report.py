# Copyright (c) mmfer4d contributors. All rights reserved.
"""What a label-free (self-supervised) run may report, and how.

A zero-shot accuracy reads the class prompts: it means something when the
prompts were tied to the classes, by ground-truth labels (``text_source=
'label'``) or by a pretrained text tower whose prompts already mean "a
happy face". A label-free run (``text_source='pseudo'`` or ``'none'``)
with a random-init text tower has neither: its clusters sit on arbitrary
prompts and its "zero-shot accuracy" is an arbitrary permutation of the
classes, chance by construction. Such a run is scored by its embeddings
instead: clustering accuracy (Hungarian-matched to the ground truth, for
evaluation only), NMI and k-NN accuracy, raw and per-subject centred.
"""
import math
from typing import List, Optional, Tuple

#: What the table says instead of a zero-shot accuracy that means nothing.
NO_ZERO_SHOT = 'n/a (random text tower)'

#: Label-free scores of the embeddings: (metric key, printed label).
LABEL_FREE_KEYS: Tuple[Tuple[str, str], ...] = (
    ('cluster/acc', 'clustering accuracy'),
    ('cluster/nmi', 'NMI'),
    ('cluster_sn/acc', 'clustering accuracy, subject-centred'),
    ('cluster_sn/nmi', 'NMI, subject-centred'),
    ('knn/acc', 'k-NN accuracy across subjects'),
    ('knn_sn/acc', 'k-NN accuracy across subjects, subject-centred'),
)

#: Short names of :data:`LABEL_FREE_KEYS` for one table cell.
_SHORT = {
    'cluster/acc': 'cluster acc', 'cluster/nmi': 'NMI',
    'cluster_sn/acc': 'cluster acc (subj.-centred)',
    'cluster_sn/nmi': 'NMI (subj.-centred)', 'knn/acc': 'k-NN',
    'knn_sn/acc': 'k-NN (subj.-centred)'
}


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def zero_shot_is_meaningful(model_cfg: dict) -> bool:
    """Whether a model config's zero-shot accuracy means anything.

    Args:
        model_cfg (dict): A ``model`` config. Only SMILE-VLM configs
            (with ``text_source`` and ``text_encoder``) are judged; any
            other model (a classifier) returns True.

    Returns:
        bool: False for a label-free text source (``'pseudo'`` /
        ``'none'``) with a random-init text tower (``pretrained`` None).
    """
    source = model_cfg.get('text_source', 'label')
    if 'text_encoder' not in model_cfg or source == 'label':
        return True
    encoder = model_cfg.get('text_encoder') or {}
    return encoder.get('pretrained') is not None


def label_free_lines(means: dict) -> List[str]:
    """``'label: value %'`` for every label-free score in ``means``
    (metric key -> mean, in percent)."""
    return [f'{label}: {means[key]:.2f} %' for key, label in LABEL_FREE_KEYS
            if _finite(means.get(key))]


def label_free_cell(means: dict) -> Optional[str]:
    """The label-free scores in one table cell, None if there are none."""
    parts = [f'{_SHORT[key]} {means[key]:.1f}' for key, _ in LABEL_FREE_KEYS
             if _finite(means.get(key))]
    return ', '.join(parts) if parts else None
