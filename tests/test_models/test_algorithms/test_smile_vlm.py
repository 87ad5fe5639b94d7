# Copyright (c) mmfer4d contributors. All rights reserved.
import os.path as osp
import sys

import pytest
import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from tiny_multi_view import (assert_all_grads, build_model,  # noqa: E402
                             samples)


def build(**overrides):
    return build_model('SMILEVLM', **overrides)


def pseudo(data_samples, labels):
    """Attach pseudo-labels as PseudoLabelHook does."""
    for ds, lab in zip(data_samples, labels):
        ds.set_field(torch.tensor([lab]), 'pseudo_label')
    return data_samples


@pytest.fixture(scope='module')
def model():
    return build()


def test_tensor_mode_and_errors(model):
    fused, per_view = model(torch.randn(2, 3, 4, 32, 32), mode='tensor')
    assert fused.shape == (2, 16) and per_view.shape == (2, 3, 16)
    assert model.projector.in_channels == 64  # inferred: 8 * 8
    w = model.get_view_weights()
    assert w.shape == (3, ) and torch.isclose(w.sum(), torch.tensor(1.))
    with pytest.raises(ValueError, match='inputs'):
        model(torch.randn(2, 4, 32, 32))
    with pytest.raises(RuntimeError, match='Invalid mode'):
        model(torch.randn(2, 3, 4, 32, 32), mode='nope')


def test_loss_mode_label_text(model):
    model.train()
    model.zero_grad()
    losses = model(torch.randn(6, 3, 4, 32, 32), samples(), mode='loss')
    assert set(losses) == {'loss_mv', 'loss_vl', 'loss_cmr'}
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    assert_all_grads(model)
    # The locked text tower stays locked; its projection trains.
    assert model.text_encoder.proj.weight.grad is not None
    assert all(not p.requires_grad
               for p in model.text_encoder.tower.parameters())
    assert model.head.loss_vl.logit_scale.grad is not None


def test_loss_through_data_preprocessor(model):
    data = dict(
        inputs=[
            torch.randint(0, 255, (3, 4, 32, 32), dtype=torch.uint8)
            for _ in range(4)
        ],
        data_samples=samples(4))
    data = model.data_preprocessor(data, True)
    losses = model(**data, mode='loss')
    assert torch.isfinite(sum(losses.values()))


def test_per_view_weight_enters_loss_vl(model):
    x, ds = torch.randn(6, 3, 4, 32, 32), samples()
    values = []
    for weight in (0.0, 1.0):
        model.head.vl_view_weight = weight
        model._generator.manual_seed(0)
        torch.manual_seed(1)
        values.append(model(x, ds, mode='loss')['loss_vl'])
    model.head.vl_view_weight = 1.0
    assert not torch.isclose(values[0], values[1])


def test_text_source_none_only_multiview():
    m = build(text_source='none', view_fusion=dict(type='MeanViewFusion'))
    losses = m(torch.randn(4, 3, 4, 32, 32), samples(4), mode='loss')
    assert set(losses) == {'loss_mv'}
    losses['loss_mv'].backward()
    # The unused text side is locked; everything else trains.
    assert not any(p.requires_grad for p in m.text_encoder.parameters())
    assert m.head.loss_vl is None and m.head.loss_cmr is None
    assert_all_grads(m)


def test_pseudo_text_source_reads_the_data_samples():
    m = build(text_source='pseudo')
    x = torch.randn(4, 3, 4, 32, 32)
    # No pseudo-labels yet (-1): zero text losses that still touch
    # everything.
    losses = m(x, pseudo(samples(4), [-1] * 4), mode='loss')
    assert losses['loss_vl'].item() == 0.0
    sum(losses.values()).backward()
    assert_all_grads(m)
    # A single labelled sample is still too few for the contrastive loss.
    losses = m(x, pseudo(samples(4), [2, -1, -1, -1]), mode='loss')
    assert losses['loss_vl'].item() == 0.0
    m.zero_grad()
    # The pseudo-labels, not the ground truth, choose the prompts.
    ds = pseudo(samples(4), [3, 2, 1, 0])
    assert m.text_labels(ds, x.device).tolist() == [3, 2, 1, 0]
    losses = m(x, ds, mode='loss')
    assert losses['loss_vl'].item() > 0
    sum(losses.values()).backward()
    assert_all_grads(m)
    # Without PseudoLabelHook there is no label to read: a clear error.
    with pytest.raises(ValueError, match='pseudo_label'):
        m(x, samples(4), mode='loss')


def test_prompt_generator_is_saved_and_restored(model):
    state = model.state_dict()
    assert '_extra_state' in state
    labels = torch.tensor([0, 1, 2, 3] * 4)
    first = model.sample_prompts(labels, samples(16))
    # A fresh model loaded from the checkpoint draws the same prompts next.
    fresh = build()
    fresh.load_state_dict(state)
    model.load_state_dict(state)
    assert torch.equal(
        model.sample_prompts(labels, samples(16)),
        fresh.sample_prompts(labels, samples(16)))
    assert first.shape == (16, )


def test_checkpoint_of_the_single_class_model_loads():
    m = build()
    state = m.state_dict()
    # The former layout: losses at the top level, a pseudo-label buffer.
    state['loss_vl.logit_scale'] = state.pop(
        'head.loss_vl.logit_scale') + 1.0
    fresh = build()
    missing, unexpected = fresh.load_state_dict(state, strict=False)
    assert not missing and not unexpected
    assert torch.isclose(fresh.head.loss_vl.logit_scale,
                         m.head.loss_vl.logit_scale + 1.0)


def test_predict_zero_shot(model):
    model.eval()
    out = model(torch.randn(3, 3, 4, 32, 32), samples(3), mode='predict')
    assert len(out) == 3
    for ds in out:
        assert ds.pred_score.shape == (4, )
        assert torch.isclose(ds.pred_score.sum(), torch.tensor(1.))
        assert ds.pred_label.item() == ds.pred_score.argmax().item()
        assert ds.embedding.shape == (16, )
        assert ds.gt_label.item() in range(4)
    # Zero-shot scores follow the ensembled class prompts.
    class_emb = model.class_text_embeddings()
    assert class_emb.shape == (4, 16)
    assert torch.allclose(class_emb.norm(dim=-1), torch.ones(4))
    assert model(torch.randn(2, 3, 4, 32, 32), mode='predict')[0].get(
        'gt_label') is None


def test_zero_shot_picks_the_closest_prompt(model):
    model.eval()
    class_emb = model.class_text_embeddings().detach()
    # Replace extract_feat with known embeddings = the class prompts.
    orig = model.extract_feat
    model.extract_feat = lambda x: (class_emb[[2, 0]], None)
    try:
        out = model.predict(torch.zeros(2, 3, 4, 32, 32))
    finally:
        model.extract_feat = orig
    assert [d.pred_label.item() for d in out] == [2, 0]


@pytest.mark.parametrize('order', ['before', 'after'])
def test_4d_inputs(order):
    m = build(
        temporal_fusion=dict(type='TransformerTemporalFusion', num_heads=2),
        temporal_fusion_order=order)
    x = torch.randn(4, 2, 3, 4, 32, 32)
    fused, per_view = m(x)
    assert fused.shape == (4, 16) and per_view.shape == (4, 3, 16)
    losses = m(x, samples(4), mode='loss')
    sum(losses.values()).backward()
    assert_all_grads(m)
    m.eval()
    out = m(x, mode='predict')
    assert out[0].pred_score.shape == (4, )


def test_config_errors():
    with pytest.raises(ValueError, match='text_source'):
        build(text_source='captions')
    with pytest.raises(ValueError, match='predict_mode'):
        build(predict_mode='knn')
    with pytest.raises(ValueError, match='MultiViewClassifier'):
        build(predict_mode='head')
    with pytest.raises(ValueError, match='classes'):
        build(classes=None)
    with pytest.raises(ValueError, match='temporal_fusion_order'):
        build(temporal_fusion_order='middle')
    with pytest.raises(ValueError, match='text_encoder'):
        build(text_encoder=None)
    # Arguments of the single-class model say where they went.
    with pytest.raises(ValueError, match=r'head\.loss_mv'):
        build(loss_mv=dict(type='MultiViewBarlowTwinsLoss'))
    with pytest.raises(ValueError, match='not an argument'):
        build(predict_mod='zero_shot')
