# Copyright (c) mmfer4d contributors. All rights reserved.
from unittest import mock

import pytest
import torch

from mmfer4d.models.text import OpenCLIPTextEncoder

TINY = dict(layers=1, width=64, heads=2, context_length=16)


def _encoder(**kwargs):
    torch.manual_seed(0)
    kwargs.setdefault('text_cfg_overrides', TINY)
    return OpenCLIPTextEncoder(out_channels=8, **kwargs)


def test_text_only_and_shapes():
    enc = _encoder()
    assert not any('visual' in n for n, _ in enc.named_parameters())
    out = enc(['a smiling person', 'a sad face', 'a face'])
    assert out.shape == (3, 8)
    assert enc.tokenize(['a b']).shape == (1, 16)


def test_frozen_tower_is_cached_and_locked():
    enc = _encoder(frozen=True).train()
    assert not enc.tower.training
    assert all(not p.requires_grad for p in enc.tower.parameters())
    prompts = ['a smiling person', 'a sad face']
    with mock.patch.object(
            enc.tower, 'forward', wraps=enc.tower.forward) as fwd:
        a = enc(prompts)
        b = enc(prompts)
        assert fwd.call_count == 1
        enc(['another prompt'])
        assert fwd.call_count == 2
        # Loading weights invalidates the cache.
        enc.load_state_dict(enc.state_dict())
        enc(prompts)
        assert fwd.call_count == 3
    assert torch.allclose(a, b)
    a.sum().backward()
    assert enc.proj.weight.grad is not None


def test_trainable_tower_recomputes_with_gradients():
    enc = _encoder(frozen=False).train()
    with mock.patch.object(
            enc.tower, 'forward', wraps=enc.tower.forward) as fwd:
        enc(['a']).sum().backward()
        enc(['a'])
        assert fwd.call_count == 2
    assert enc.tower.token_embedding.weight.grad is not None


def test_local_checkpoint_with_prefixes(tmp_path):
    src = _encoder()
    state = {f'module.{k}': v for k, v in src.tower.state_dict().items()}
    state['visual.conv1.weight'] = torch.zeros(1)
    state['logit_scale'] = torch.zeros(())
    path = tmp_path / 'clip.pt'
    torch.save({'state_dict': state}, path)
    torch.manual_seed(1)
    dst = OpenCLIPTextEncoder(
        pretrained=str(path), text_cfg_overrides=TINY, out_channels=8)
    for k, v in src.tower.state_dict().items():
        assert torch.equal(dst.tower.state_dict()[k], v), k


def test_pretrained_tag_goes_through_create_model():
    donor = _encoder()

    class FakeCLIP(torch.nn.Module):

        def __init__(self):
            super().__init__()
            self.text = donor.tower

    with mock.patch(
            'open_clip.create_model', return_value=FakeCLIP()) as create:
        enc = OpenCLIPTextEncoder(
            pretrained='openai', text_cfg_overrides=TINY, out_channels=8)
    create.assert_called_once_with('ViT-B-32', pretrained='openai')
    w = donor.tower.token_embedding.weight
    assert torch.equal(enc.tower.token_embedding.weight, w)


def test_errors(tmp_path):
    with pytest.raises(ValueError, match='not an open_clip model'):
        OpenCLIPTextEncoder(model_name='no-such-model')
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        _encoder(pretrained=str(tmp_path / 'missing.pth'))
    bad = tmp_path / 'bad.pt'
    torch.save({'token_embedding.weight': torch.zeros(3, 3)}, bad)
    with pytest.raises(ValueError, match='bad.pt'):
        _encoder(pretrained=str(bad))
