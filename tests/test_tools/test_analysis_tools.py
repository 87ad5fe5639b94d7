# Copyright (c) mmfer4d contributors. All rights reserved.
"""tools/analysis_tools: confusion matrix, t-SNE and view weights."""
import importlib.util
import json
import os.path as osp
import pickle

import numpy as np
import torch
from torch import nn

TOOLS = osp.join(osp.dirname(__file__), '..', '..', 'tools',
                 'analysis_tools')


def _tool(name):
    spec = importlib.util.spec_from_file_location(
        f'_analysis_{name}', osp.join(TOOLS, f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _predictions(path, n=12):
    rng = np.random.default_rng(0)
    samples = []
    for i in range(n):
        label = i % 3
        score = torch.full((3, ), 0.1)
        score[label if i % 4 else (label + 1) % 3] = 0.8
        samples.append(dict(
            gt_label=torch.tensor([label]), pred_score=score,
            pred_label=score.argmax(0, keepdim=True),
            embedding=torch.tensor(rng.standard_normal(4) + 5 * label),
            subject=f'S{i % 2}'))
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
    emb, labels, subjects = tool.load_embeddings([pkl])
    assert emb.shape == (12, 4) and subjects[:2] == ['S0', 'S1']


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
