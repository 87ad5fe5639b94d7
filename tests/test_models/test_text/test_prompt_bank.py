# Copyright (c) mmfer4d contributors. All rights reserved.
import json

import pytest
import torch

from mmfer4d.datasets.categories import EXPRESSIONS_7, MICRO_EXPRESSIONS_5
from mmfer4d.models.text import (PromptBank, list_prompt_families,
                                 load_prompt_family)


def test_shipped_families_cover_the_categories():
    families = list_prompt_families()
    assert {'default', 'simple', 'descriptive'} <= set(families)
    for family in families:
        data = load_prompt_family(family)
        for name in EXPRESSIONS_7 + MICRO_EXPRESSIONS_5:
            assert data['classes'][name]['phrasings'], (family, name)
    default = load_prompt_family('default')
    assert len(default['classes']['happiness']['phrasings']) >= 3
    assert 'a smiling person' in default['classes']['happiness']['phrasings']


def test_indices_and_sampling():
    bank = PromptBank(('happiness', 'sadness'), 'default')
    for c, idx in enumerate(bank.class_indices):
        assert len(idx) >= 3
        assert set(idx).isdisjoint(bank.class_indices[1 - c])
    labels = torch.tensor([0, 1, 0, 1] * 20)
    picked = bank.sample(labels, generator=torch.Generator().manual_seed(0))
    for lab, p in zip(labels.tolist(), picked.tolist()):
        assert p in bank.class_indices[lab]
    # Several phrasings get used (sampling, not always the first).
    assert len(set(picked[labels == 0].tolist())) > 1
    with pytest.raises(ValueError, match='labels'):
        bank.sample(torch.tensor([2]))


def test_intensity_aware_sampling():
    bank = PromptBank(('happiness', 'neutral'), intensity_aware=True)
    high = bank.sample(torch.tensor([0] * 10), intensities=[4] * 10)
    texts = {bank.prompts[i] for i in high.tolist()}
    assert texts <= {'a face showing intense happiness', 'a very happy face'}
    low = bank.sample(torch.tensor([0]), intensities=[1])
    assert 'slight' in bank.prompts[low] or 'slightly' in bank.prompts[low]
    # Unknown intensity and neutral fall back to the plain phrasings.
    unk = bank.sample(torch.tensor([0, 1]), intensities=[-1, 3])
    assert unk[0].item() in bank.class_indices[0]
    assert unk[1].item() in bank.class_indices[1]


def test_ensemble_averages_normalised_phrasings():
    bank = PromptBank(('happiness', 'sadness'), 'default')
    emb = torch.randn(len(bank.prompts), 6)
    out = bank.ensemble(emb)
    assert out.shape == (2, 6)
    z = torch.nn.functional.normalize(emb, dim=-1)
    expected = z[bank.class_indices[1]].mean(0)
    assert torch.allclose(out[1], expected / expected.norm(), atol=1e-6)
    with pytest.raises(ValueError, match='prompt embeddings'):
        bank.ensemble(emb[:-1])


def test_unknown_class_fallback_and_custom_file(tmp_path):
    bank = PromptBank(('happiness', 'boredom'), 'simple')
    assert bank.prompts[bank.class_indices[1][0]] == 'a face showing boredom.'
    path = tmp_path / 'mine.json'
    path.write_text(json.dumps({'classes': {'a': {'phrasings': ['x', 'y']}}}))
    assert PromptBank(('a', ), str(path)).prompts == ['x', 'y']
    bad = tmp_path / 'bad.json'
    bad.write_text('{')
    with pytest.raises(ValueError, match='bad.json'):
        PromptBank(('a', ), str(bad))
    with pytest.raises(FileNotFoundError, match='nope'):
        PromptBank(('a', ), 'nope')
    with pytest.raises(ValueError, match='duplicate'):
        PromptBank(('a', 'a'))
