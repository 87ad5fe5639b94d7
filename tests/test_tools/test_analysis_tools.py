# Copyright (c) mmfer4d contributors. All rights reserved.
"""tools/analysis_tools: FLOPs, confusion matrix, t-SNE, view weights."""
import importlib.util
import json
import os.path as osp
import pickle
import sys

import numpy as np
import torch
from torch import nn

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, HERE)
from tiny_fer_helpers import (REPO, SMILE_VLM_CONFIG,  # noqa: E402
                              tiny_smile_vlm_options)

TOOLS = osp.join(REPO, 'tools', 'analysis_tools')
CLASSES = ('anger', 'disgust', 'fear')


def _tool(name):
    spec = importlib.util.spec_from_file_location(
        f'_analysis_{name}', osp.join(TOOLS, f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _predictions(path, n=12, num_classes=3, named=True):
    """Predicted samples as ``tools/test.py --out`` writes ours: 3 classes
    shown (labels 0-2), ``expression`` naming the ground truth."""
    rng = np.random.default_rng(0)
    samples = []
    for i in range(n):
        label = i % 3
        score = torch.full((num_classes, ), 0.1)
        score[label if i % 4 else (label + 1) % 3] = 0.8
        samples.append(dict(
            gt_label=torch.tensor([label]), pred_score=score,
            pred_label=score.argmax(0, keepdim=True),
            embedding=torch.tensor(rng.standard_normal(4) + 5 * label),
            subject=f'S{i % 2}'))
        if named:
            samples[-1]['expression'] = CLASSES[label]
    with open(path, 'wb') as f:
        pickle.dump(samples, f)
    return str(path)


def test_confusion_matrix_from_pickles_and_json(tmp_path):
    tool = _tool('confusion_matrix')
    pkl = _predictions(tmp_path / 'p.pkl')
    matrix, _ = tool.matrix_from_inputs([pkl, pkl])  # pooled
    assert matrix.sum() == 24 and np.trace(matrix) == 18
    out = tmp_path / 'cm.png'
    assert tool.main([pkl, '--out-png', str(out), '--classes', 'a', 'b',
                      'c']) == 0
    assert out.read_bytes()[:4] == b'\x89PNG'
    metrics = tmp_path / 'metrics.json'
    metrics.write_text(json.dumps({
        'fer/confusion_matrix': [[1, 0], [1, 2]],
        'fer/classes': ['x', 'y']}))
    matrix, classes = tool.matrix_from_inputs([str(metrics)])
    assert matrix.tolist() == [[1, 0], [1, 2]] and classes == ['x', 'y']
    # the samples name their classes; the matrix carries the names
    matrix, classes = tool.matrix_from_inputs([pkl])
    assert classes == list(CLASSES)
    bad = tmp_path / 'bad.json'
    bad.write_text('{}')
    assert tool.main([str(bad)]) == 2


def test_tsne_tool(tmp_path):
    tool = _tool('tsne')
    pkl = _predictions(tmp_path / 'p.pkl')
    out = tmp_path / 't.png'
    assert tool.main([pkl, '--out-png', str(out), '--perplexity', '3',
                      '--max-iter', '250']) == 0
    assert out.is_file()
    emb, labels, subjects, names = tool.load_embeddings([pkl])
    assert emb.shape == (12, 4) and subjects[:2] == ['S0', 'S1']
    assert names == list(CLASSES)


def _axis_labels(png_tool, monkeypatch, argv):
    """Run a plotting tool; the x tick, y tick and legend texts of each of
    its axes, as lists."""
    import matplotlib.figure
    texts = []
    save = matplotlib.figure.Figure.savefig

    def spy(fig, *args, **kwargs):
        for ax in fig.axes:
            legend = ax.get_legend()
            texts.extend([[t.get_text() for t in ax.get_xticklabels()],
                          [t.get_text() for t in ax.get_yticklabels()],
                          [] if legend is None else
                          [t.get_text() for t in legend.get_texts()]])
        return save(fig, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, 'savefig', spy)
    assert png_tool.main(argv) == 0
    return texts


def test_pictures_show_class_names_from_the_predictions(tmp_path,
                                                        monkeypatch):
    pkl = _predictions(tmp_path / 'p.pkl')
    texts = _axis_labels(_tool('confusion_matrix'), monkeypatch,
                         [pkl, '--out-png', str(tmp_path / 'cm.png')])
    # the matrix's predicted (x) and true (y) axes
    assert texts.count(list(CLASSES)) == 2
    texts = _axis_labels(_tool('tsne'), monkeypatch, [
        pkl, '--out-png', str(tmp_path / 't.png'), '--perplexity', '3',
        '--max-iter', '250'
    ])
    assert list(CLASSES) in texts  # the by-class legend


def test_config_names_the_classes_no_sample_shows(tmp_path, monkeypatch):
    # 6-way scores, only 3 classes present, no names in the file: the
    # config's data set (SyntheticFER3D, six basic expressions) names all
    pkl = _predictions(tmp_path / 'p.pkl', num_classes=6, named=False)
    texts = _axis_labels(_tool('confusion_matrix'), monkeypatch, [
        pkl, '--out-png', str(tmp_path / 'cm.png'), '--config',
        SMILE_VLM_CONFIG
    ])
    assert ['anger', 'disgust', 'fear', 'happiness', 'sadness',
            'surprise'] in texts
    # without names or config, a class keeps its index
    matrix, names = _tool('confusion_matrix').matrix_from_inputs([pkl])
    assert names == ['0', '1', '2', '3', '4', '5']
    # given names win; too few of them is an error
    assert _tool('confusion_matrix').main(
        [pkl, '--classes', 'a', 'b', '--out-png', str(tmp_path / 'x.png')
         ]) == 2


class _AttentionStandIn(nn.Module):
    """Input-dependent weights, None before the first forward."""

    def __init__(self):
        super().__init__()
        self.last = None

    def get_view_weights(self):
        return self.last


class _Model(nn.Module):

    def __init__(self):
        super().__init__()
        self.fusion = _AttentionStandIn()

    def test_step(self, batch):
        x = batch['inputs']  # (N, V)
        self.fusion.last = x.softmax(-1).mean(0)


def test_view_weights_averaged_over_batches():
    tool = _tool('view_weights')
    model = _Model()
    batches = [dict(inputs=torch.tensor([[0., 0.]])),
               dict(inputs=torch.tensor([[0., 100.]]))]
    np.testing.assert_allclose(
        tool.average_view_weights(model, batches), [0.25, 0.75], atol=1e-6)
    try:
        tool.average_view_weights(_Model(), [])
    except ValueError as err:
        assert 'num-batches' in str(err)
    else:
        raise AssertionError('expected a ValueError')


def _conv_multiply_adds(backbone, image):
    """Multiply-adds of every Conv2d / Linear, counted by hand from the
    layers' shapes (an independent count of what FLOP counters report)."""
    counts = []

    def hook(module, args, out):
        counts.append(out.numel() * module.weight[0].numel())

    hooks = [m.register_forward_hook(hook) for m in backbone.modules()
             if isinstance(m, (nn.Conv2d, nn.Linear))]
    backbone.eval()
    with torch.no_grad():
        backbone(image)
    for h in hooks:
        h.remove()
    return sum(counts)


def _flops(tmp_path, name, argv):
    out = str(tmp_path / f'{name}.json')
    assert _tool('get_flops').main(argv + ['--out', out]) == 0
    with open(out) as f:
        return json.load(f)


def test_get_flops_per_sample_and_per_view(tmp_path, capsys):
    v3 = _flops(tmp_path, 'v3',
                [SMILE_VLM_CONFIG, '--input-shape', '3', '4', '32', '32'])
    printed = capsys.readouterr().out
    assert 'FLOPs per view' in printed and 'backbone' in printed
    assert v3['images_per_sample'] == 3 and v3['params'] > 0
    assert v3['flops_per_view'] > 0
    # the counter agrees with a hand count of the convolutions (it adds
    # batch norm and pooling, under 2 % here)
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    init_default_scope('mmfer4d')
    from mmfer4d.models.utils import build_model_from_cfg
    backbone = build_model_from_cfg(
        Config.fromfile(SMILE_VLM_CONFIG)).backbone
    hand = _conv_multiply_adds(backbone, torch.zeros(1, 4, 32, 32))
    assert hand <= v3['flops_per_view'] <= 1.02 * hand
    # per sample = views x per view + what neck, projection and fusion add
    vision = 3 * v3['flops_per_view']
    rest = v3['flops_per_sample'] - vision
    assert rest == sum(n for k, n in v3['flops_by_module'].items()
                       if k != 'backbone')
    assert 0 < rest < 0.05 * vision
    # the text tower is not run per sample, but its parameters count
    assert v3['params'] == sum(v3['params_by_module'].values())


def test_get_flops_of_a_sequence(tmp_path):
    # the 4D sibling of SMILE_VLM_CONFIG (same backbone)
    config = osp.join(
        REPO, 'configs', 'smile_vlm',
        'smile-vlm_resnet18-w16_scratch_1xb8-20e_synthetic-fer4d-3view.py')
    seq = _flops(tmp_path, 'seq',
                 [config, '--input-shape', '4', '3', '4', '32', '32'])
    scan = _flops(tmp_path, 'scan',
                  [SMILE_VLM_CONFIG, '--input-shape', '3', '4', '32', '32'])
    assert seq['images_per_sample'] == 12
    assert seq['flops_per_sample'] >= 12 * seq['flops_per_view'] > 0
    # both configs use the same backbone: one view costs the same
    assert seq['params_by_module']['backbone'] == \
        scan['params_by_module']['backbone']
    assert seq['flops_per_view'] == scan['flops_per_view']
    # the frames are fused too
    assert seq['flops_by_module']['temporal_fusion'] > 0


def test_get_flops_of_the_configs_own_sample(tmp_path):
    """Default input: the first test sample through pipeline and data
    preprocessor (here 3 views of depth + normal, 32 px)."""
    options = [o for o in tiny_smile_vlm_options()
               if o.startswith('test_dataloader.')]
    info = _flops(tmp_path, 'own', [SMILE_VLM_CONFIG, '--cfg-options'] +
                  options)
    assert info['input_shape'] == [1, 3, 4, 32, 32]
    zeros = _flops(tmp_path, 'zeros',
                   [SMILE_VLM_CONFIG, '--input-shape', '3', '4', '32', '32'])
    assert info['flops_per_sample'] == zeros['flops_per_sample']


def test_get_flops_rejects_a_bad_shape(tmp_path, capsys):
    assert _tool('get_flops').main(
        [SMILE_VLM_CONFIG, '--input-shape', '32', '32']) == 2
    assert 'inputs must be one sample' in capsys.readouterr().err


class _AttentionModel(nn.Module):
    """An mmengine-style model whose ``backbone`` is one self-attention."""

    def __init__(self, dims=16, heads=2):
        super().__init__()
        self.backbone = nn.MultiheadAttention(dims, heads, batch_first=True)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        x = inputs[:, 0]  # (1, L, E)
        return self.backbone(x, x, x, need_weights=False)[0]


def test_get_flops_counts_attention():
    """Projections and both attention products, by hand: L = 4 tokens of
    E = 16: in-projection 3 L E^2, Q K^T and A V 2 L^2 E, out-projection
    L E^2 (multiply-adds)."""
    tokens, dims = 4, 16
    info = _tool('get_flops').model_complexity(
        _AttentionModel(dims), torch.zeros(1, 1, tokens, dims))
    expected = 3 * tokens * dims**2 + 2 * tokens**2 * dims + tokens * dims**2
    assert info['flops_per_sample'] == expected
    assert info['flops_per_view'] == expected
