# Copyright (c) mmfer4d contributors. All rights reserved.
import os
from unittest import mock

import open_clip
import pytest
import torch
from open_clip.model import _build_text_tower
from open_clip.transformer import QuickGELU
from torch import nn

from mmfer4d.models.text import OpenCLIPTextEncoder
from mmfer4d.models.text.open_clip_text_encoder import text_tower_settings
from mmfer4d.utils import UnsafeCheckpointError

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


def test_frozen_tower_cached_in_float32_under_autocast():
    # Training under bfloat16 autocast fills the cache that float32 testing
    # then reads (this failed with a dtype mismatch in the projection).
    prompts = ['a smiling person', 'a sad face']
    expected = _encoder(frozen=True)(prompts)
    enc = _encoder(frozen=True)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        trained = enc(prompts)
    assert trained.dtype == torch.bfloat16  # the projection autocasts
    tested = enc(prompts)
    assert tested.dtype == torch.float32
    torch.testing.assert_close(tested, expected)


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


def _activation(encoder):
    return type(encoder.tower.transformer.resblocks[0].mlp.gelu)


def _meta_text_state(path, model_name='ViT-B-32'):
    """A real-size text state dict without data (meta tensors)."""
    cfg = open_clip.get_model_config(model_name)
    with torch.device('meta'):
        tower = _build_text_tower(cfg['embed_dim'], cfg['text_cfg'])
    torch.save(tower.state_dict(), path)
    return str(path)


@pytest.mark.parametrize('model_name, tag, quick_gelu', [
    ('ViT-B-32', 'openai', True),
    ('ViT-B-32', 'laion400m_e32', True),
    ('ViT-B-32', 'laion2b_s34b_b79k', False),
    ('ViT-B-32-quickgelu', 'openai', True),
    ('ViT-B-16', 'openai', True),
    ('RN50', 'openai', True),
    ('RN50', 'yfcc15m', True),
    ('ViT-L-14', 'datacomp_xl_s13b_b90k', False),
])
def test_tag_settings_come_from_open_clips_registry(model_name, tag,
                                                    quick_gelu):
    # open_clip's pretrained registry holds the tags' metadata: no download.
    settings = text_tower_settings(model_name, tag)
    assert settings['quick_gelu'] is quick_gelu
    assert settings['tag_cfg'] == open_clip.get_pretrained_cfg(
        model_name, tag)
    assert settings['text_cfg'] == open_clip.get_model_config(
        model_name)['text_cfg']
    # Without a tag the model name decides (GELU unless '-quickgelu').
    assert text_tower_settings(model_name)['quick_gelu'] is \
        model_name.endswith('-quickgelu')


def test_real_size_openai_tower_runs_quick_gelu(tmp_path):
    # The real ViT-B-32 config, built on the meta device (no memory); only
    # the weight file fetch is mocked.
    path = _meta_text_state(tmp_path / 'meta.pt')
    with mock.patch('open_clip.pretrained.download_pretrained',
                    return_value=path) as fetch, torch.device('meta'):
        openai = OpenCLIPTextEncoder('ViT-B-32', pretrained='openai')
        laion = OpenCLIPTextEncoder(
            'ViT-B-32', pretrained='laion2b_s34b_b79k')
    assert _activation(openai) is QuickGELU and openai.quick_gelu
    assert _activation(laion) is nn.GELU and not laion.quick_gelu
    assert fetch.call_args_list[0].args[0] == open_clip.get_pretrained_cfg(
        'ViT-B-32', 'openai')


def test_contradicting_the_tag_warns(tmp_path):
    path = _meta_text_state(tmp_path / 'meta.pt')
    with mock.patch('open_clip.pretrained.download_pretrained',
                    return_value=path), torch.device('meta'):
        with pytest.warns(UserWarning, match='trained with QuickGELU'):
            enc = OpenCLIPTextEncoder(
                'ViT-B-32', pretrained='openai', quick_gelu=False)
    assert _activation(enc) is nn.GELU


def test_tag_weights_load_through_the_safe_loader(tmp_path):
    # A full CLIP state dict in open_clip's layout, written by open_clip's
    # own (tiny) CLIP model, as the Hugging Face hub files are.
    clip = open_clip.model.CLIP(
        embed_dim=512,
        vision_cfg=dict(layers=1, width=32, head_width=32, patch_size=16,
                        image_size=32),
        text_cfg=dict(TINY, vocab_size=49408),
        quick_gelu=True)
    path = tmp_path / 'open_clip_pytorch_model.bin'
    torch.save(clip.state_dict(), path)
    with mock.patch('open_clip.pretrained.download_pretrained',
                    return_value=str(path)):
        enc = _encoder(pretrained='openai')
    assert enc.quick_gelu and _activation(enc) is QuickGELU
    assert torch.equal(enc.tower.token_embedding.weight,
                       clip.token_embedding.weight)
    assert torch.equal(enc.tower.text_projection, clip.text_projection)
    # A hostile file behind a tag is refused like any other checkpoint.
    torch.save(dict(state_dict=clip.state_dict(), x=_Payload(tmp_path)),
               path)
    with mock.patch('open_clip.pretrained.download_pretrained',
                    return_value=str(path)):
        with pytest.raises(UnsafeCheckpointError, match='posix.system'):
            _encoder(pretrained='openai')
    assert not (tmp_path / 'payload-ran').exists()


class _Payload:

    def __init__(self, folder):
        self.marker = str(folder / 'payload-ran')

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def test_local_checkpoints_go_through_the_safe_loader(tmp_path):
    src = _encoder()
    path = tmp_path / 'text.pth'
    torch.save(dict(state_dict=src.tower.state_dict(),
                    meta=dict(x=_Payload(tmp_path))), path)
    with pytest.raises(UnsafeCheckpointError, match=str(path)):
        _encoder(pretrained=str(path))
    assert not (tmp_path / 'payload-ran').exists()
    # A safetensors file (no pickle at all) loads.
    from safetensors.torch import save_file
    safe = tmp_path / 'text.safetensors'
    save_file({k: v.contiguous() for k, v in src.tower.state_dict().items()},
              str(safe))
    dst = _encoder(pretrained=str(safe))
    assert torch.equal(dst.tower.token_embedding.weight,
                       src.tower.token_embedding.weight)


def test_local_checkpoint_shapes_and_activation(tmp_path):
    src = _encoder(quick_gelu=True)
    assert _activation(src) is QuickGELU
    path = tmp_path / 'text.pt'
    torch.save(src.tower.state_dict(), path)
    # The activation of a local file is whatever the caller states.
    assert _activation(_encoder(pretrained=str(path))) is nn.GELU
    dst = _encoder(pretrained=str(path), quick_gelu=True)
    assert _activation(dst) is QuickGELU
    tokens = dst.tokenize(['a smiling face'])
    assert torch.allclose(dst.tower(tokens), src.tower(tokens))
    # A checkpoint of another size is named with the tensor that differs.
    with pytest.raises(ValueError,
                       match=r"text.pt: does not fit the text tower of "
                       r"'ViT-B-32': positional_embedding is \(16, 64\) in "
                       r'the checkpoint but \(16, 32\) in the tower'):
        _encoder(pretrained=str(path),
                 text_cfg_overrides=dict(TINY, width=32))


def test_errors(tmp_path):
    with pytest.raises(ValueError, match='not an open_clip model'):
        OpenCLIPTextEncoder(model_name='no-such-model')
    with pytest.raises(ValueError, match=r"'no_such_tag' is neither a file "
                       r"nor an open_clip pretrained tag of 'ViT-B-32' "
                       r"\(tags: \['openai'"):
        _encoder(pretrained='no_such_tag')
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        _encoder(pretrained=str(tmp_path / 'missing.pth'))
    bad = tmp_path / 'bad.pt'
    torch.save({'token_embedding.weight': torch.zeros(3, 3)}, bad)
    with pytest.raises(ValueError, match='bad.pt'):
        _encoder(pretrained=str(bad))
