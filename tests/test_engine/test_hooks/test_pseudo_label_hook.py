# Copyright (c) mmfer4d contributors. All rights reserved.
import types

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.logging import MessageHub, MMLogger
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample

from mmfer4d.engine.hooks import (PseudoLabelHook, PseudoLabelStore,
                                  match_clusters_to_previous,
                                  match_clusters_to_prompts,
                                  text_tower_is_pretrained)
from mmfer4d.engine.hooks import pseudo_label_hook
from mmfer4d.evaluation import cluster_accuracy
from mmfer4d.registry import HOOKS, MODELS

CLASSES = ('anger', 'happiness', 'sadness')


def test_cluster_accuracy_is_the_metric_one():
    # One implementation: the clustering metric's (which refuses empty
    # inputs; the hook only scores samples with a ground truth).
    assert pseudo_label_hook.cluster_accuracy is cluster_accuracy
    gt = np.array([0, 0, 1, 1, 2, 2])
    assert cluster_accuracy(np.array([2, 2, 0, 0, 1, 1]), gt) == 1.0
    assert cluster_accuracy(np.array([0, 0, 0, 1, 1, 1]), gt) == 4 / 6
    with pytest.raises(ValueError):
        cluster_accuracy(np.array([], int), np.array([], int))
    with pytest.raises(ValueError):
        cluster_accuracy(np.array([0]), gt)


def test_store_by_sample_idx():
    store = PseudoLabelStore(num_classes=4)
    assert len(store) == 0
    store.update([0, 1, 2, 3], [3, 2, 1, 0])
    assert store.lookup([3, 0, 9]).tolist() == [0, 3, -1]
    store.update([10], [1])  # others keep theirs
    assert len(store) == 5 and store.lookup([10, 0]).tolist() == [1, 3]
    with pytest.raises(ValueError, match='pseudo-labels'):
        store.update([0], [7])
    with pytest.raises(ValueError, match='pseudo-labels'):
        store.update([0], [-2])
    with pytest.raises(ValueError, match='labels'):
        store.update([0, 1], [1])
    # The state is plain tensors (a weights_only checkpoint).
    state = store.state_dict()
    assert state['sample_idx'].tolist() == [0, 1, 2, 3, 10]
    fresh = PseudoLabelStore()
    fresh.load_state_dict(state)
    assert fresh.lookup([0, 3, 10]).tolist() == [3, 0, 1]


def test_match_clusters_to_prompts_is_a_permutation():
    prompts = np.eye(3)
    centroids = np.array([[0., 0.1, 2.], [3., 0., 0.], [0., 1., 0.2]])
    assert match_clusters_to_prompts(centroids, prompts).tolist() == [2, 0, 1]
    # Two centroids closest to the same prompt still get distinct classes.
    centroids = np.array([[1., 0.1, 0.], [1., 0., 0.05], [0., 0., 1.]])
    assert sorted(match_clusters_to_prompts(centroids, prompts)) == [0, 1, 2]
    with pytest.raises(ValueError, match='same shape'):
        match_clusters_to_prompts(np.eye(2), prompts)


class ToyDataset(torch.utils.data.Dataset):
    """Three well separated groups of 3-view, 4-channel 32 px images."""

    def __init__(self, per_class=6):
        g = torch.Generator().manual_seed(0)
        self.bases = torch.randint(0, 255, (3, 3, 4, 32, 32), generator=g)
        self.labels = [c for c in range(3) for _ in range(per_class)]

    def __len__(self):
        return len(self.labels)

    def get_data_info(self, idx):
        return dict(gt_label=self.labels[idx], sample_idx=idx)

    def __getitem__(self, idx):
        return pack(self.get_data_info(idx), self.bases)


def pack(info, bases):
    img = bases[info['gt_label']].clone()
    img[..., :2, :2] = info['sample_idx']  # a small per-sample difference
    ds = DataSample(metainfo=dict(sample_idx=info['sample_idx']))
    return dict(
        inputs=img.to(torch.uint8),
        data_samples=ds.set_gt_label(info['gt_label']))


def fake_runner(model, dataset, epoch=0):
    loader = types.SimpleNamespace(dataset=dataset, batch_size=4)
    return types.SimpleNamespace(
        model=model,
        train_dataloader=loader,
        epoch=epoch,
        message_hub=MessageHub.get_instance('test_pseudo_label_hook'),
        logger=MMLogger.get_instance('test_pseudo_label_hook'))


@pytest.fixture(scope='module')
def model():
    init_default_scope('mmfer4d')
    torch.manual_seed(0)
    return MODELS.build(
        dict(
            type='SMILEVLM',
            data_preprocessor=dict(
                type='MultiViewDataPreprocessor',
                mean=[127.5] * 4,
                std=[127.5] * 4),
            backbone=dict(
                type='ResNet',
                depth=18,
                base_channels=8,
                in_channels=4,
                out_indices=(3, )),
            projector=dict(
                type='MultiViewProjectionHead',
                out_channels=16,
                hid_channels=32),
            text_encoder=dict(
                type='OpenCLIPTextEncoder',
                text_cfg_overrides=dict(
                    layers=1, width=64, heads=2, context_length=16)),
            classes=CLASSES,
            text_source='pseudo'))


def test_hook_fills_store_and_logs_accuracy(model):
    dataset = ToyDataset()
    hook = HOOKS.build(
        dict(type='PseudoLabelHook', interval=2, n_init=4, match='prompts'))
    runner = fake_runner(model.train(), dataset, epoch=1)
    hook.before_train_epoch(runner)  # epoch 1: not due
    assert len(hook.store) == 0
    runner.epoch = 2
    hook.before_train_epoch(runner)
    assert model.training  # restored after the eval pass
    labels = hook.store.lookup(range(len(dataset)))
    assert (labels >= 0).all() and (labels < 3).all()
    # Separable groups: one label per group, three different labels.
    groups = labels.view(3, -1)
    assert all(len(set(g.tolist())) == 1 for g in groups)
    assert len(set(groups[:, 0].tolist())) == 3
    acc = runner.message_hub.get_scalar('train/pseudo_cluster_acc')
    assert acc.current() == pytest.approx(1.0)
    label_acc = hook.last_metrics['train/pseudo_label_acc']
    assert label_acc == pytest.approx(
        float((labels.numpy() == np.array(dataset.labels)).mean()))


def test_hook_with_pipeline(model):
    dataset = ToyDataset(per_class=3)
    calls = []

    def pipeline(info):
        calls.append(info['sample_idx'])
        return pack(info, dataset.bases)

    hook = PseudoLabelHook(pipeline=[pipeline], batch_size=5, n_init=2)
    hook.update(fake_runner(model, dataset))
    assert calls == list(range(9))
    assert (hook.store.lookup(range(9)) >= 0).all()


def test_hook_attaches_labels_that_the_model_trains_on(model):
    dataset = ToyDataset(per_class=3)
    hook = PseudoLabelHook(n_init=2)
    runner = fake_runner(model, dataset)
    batch = pseudo_collate([dataset[i] for i in (0, 4, 8)])
    # Before the first update: every sample has the label -1 (no text).
    hook.before_train_iter(runner, 0, batch)
    assert [ds.pseudo_label.tolist() for ds in batch['data_samples']] == \
        [[-1]] * 3
    hook.before_train_epoch(runner)
    hook.before_train_iter(runner, 0, batch)
    attached = [int(ds.pseudo_label) for ds in batch['data_samples']]
    assert attached == hook.store.lookup([0, 4, 8]).tolist()
    assert min(attached) >= 0
    # The model reads them: its text labels are the pseudo-labels.
    data = model.data_preprocessor(batch, True)
    assert model.text_labels(data['data_samples'],
                             torch.device('cpu')).tolist() == attached
    losses = model(**data, mode='loss')
    assert losses['loss_vl'].item() > 0
    # A training sample without sample_idx cannot get its label.
    bad = dict(batch, data_samples=[DataSample().set_gt_label(0)])
    with pytest.raises(ValueError, match='sample_idx'):
        hook.before_train_iter(runner, 0, bad)


def test_store_survives_a_checkpoint_round_trip(model, tmp_path):
    hook = PseudoLabelHook(n_init=2)
    runner = fake_runner(model, ToyDataset(per_class=3))
    hook.update(runner)
    checkpoint = dict(state_dict={})
    hook.before_save_checkpoint(runner, checkpoint)
    path = tmp_path / 'epoch_1.pth'
    torch.save(checkpoint, path)
    loaded = torch.load(path, weights_only=True)
    fresh = PseudoLabelHook()
    fresh.after_load_checkpoint(runner, loaded)
    assert torch.equal(
        fresh.store.lookup(range(9)), hook.store.lookup(range(9)))
    # A checkpoint without pseudo-labels leaves the store as it is.
    fresh.after_load_checkpoint(runner, dict(state_dict={}))
    assert len(fresh.store) == 9


def test_hook_errors(model):
    with pytest.raises(ValueError, match='interval'):
        PseudoLabelHook(interval=0)
    hook = PseudoLabelHook()
    with pytest.raises(ValueError, match='cannot cluster'):
        hook.update(fake_runner(model, ToyDataset(per_class=0)))
    with pytest.raises(TypeError, match='SMILEVLM'):
        hook.update(fake_runner(torch.nn.Linear(2, 2), ToyDataset()))


def test_match_clusters_to_previous_keeps_label_ids():
    previous = np.array([0, 0, 1, 1, 2, 2, -1])
    # The same partition with other ids (and one sample moved): the ids
    # follow the previous labels, not the k-means numbering.
    clusters = np.array([2, 2, 0, 1, 1, 1, 0])
    mapping = match_clusters_to_previous(clusters, previous, 3)
    # Agreement 2->0: 2, 1->2: 2, 0->1: 1 (the best, 5 of 6).
    assert mapping.tolist() == [1, 2, 0]
    assert mapping[clusters].tolist()[:6] == [0, 0, 1, 2, 2, 2]
    # No previous labels: the k-means ids as they are.
    assert match_clusters_to_previous(
        clusters, np.full(7, -1), 3).tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match='previous'):
        match_clusters_to_previous(clusters, previous[:3], 3)
    with pytest.raises(ValueError, match='< 3'):
        match_clusters_to_previous(clusters + 1, previous, 3)


class SubjectToyDataset(ToyDataset):
    """Four subjects x three expressions; the subject sets most pixels."""

    def __init__(self):
        g = torch.Generator().manual_seed(1)
        self.faces = torch.randint(0, 255, (4, 3, 4, 32, 32), generator=g)
        self.labels = [c for _ in range(4) for c in range(3)]
        self.subjects = [f'S{s}' for s in range(4) for _ in range(3)]

    def get_data_info(self, idx):
        return dict(gt_label=self.labels[idx], sample_idx=idx,
                    subject=self.subjects[idx])

    def __getitem__(self, idx):
        info = self.get_data_info(idx)
        img = self.faces[int(info['subject'][1:])].clone()
        img[..., :8, :] = 80 * info['gt_label']  # the "expression"
        ds = DataSample(metainfo=dict(sample_idx=idx,
                                      subject=info['subject']))
        return dict(inputs=img.to(torch.uint8),
                    data_samples=ds.set_gt_label(info['gt_label']))


def test_random_text_tower_matches_to_previous_labels(model):
    assert not text_tower_is_pretrained(model)
    hook = PseudoLabelHook(n_init=2)  # match='auto'
    runner = fake_runner(model, ToyDataset(per_class=3))
    hook.update(runner)
    assert hook.matched_to == 'previous'
    # No label accuracy is logged for arbitrary cluster ids.
    assert 'train/pseudo_label_acc' not in hook.last_metrics
    first = hook.store.lookup(range(9)).clone()
    hook.update(runner)
    assert torch.equal(hook.store.lookup(range(9)), first)
    model.text_encoder.pretrained = 'openai'  # as a tag would set it
    try:
        assert text_tower_is_pretrained(model)
        hook.update(runner)
        assert hook.matched_to == 'prompts'
        assert 'train/pseudo_label_acc' in hook.last_metrics
    finally:
        model.text_encoder.pretrained = None
    with pytest.raises(ValueError, match='match'):
        PseudoLabelHook(match='centroids')


def test_subject_norm_assign_finds_expressions_not_subjects():
    rng = np.random.default_rng(0)
    identity = 5.0 * rng.standard_normal((5, 8))
    emb = np.stack([identity[s] + np.eye(8)[c] for s in range(5)
                    for c in range(3)]) + 0.01 * rng.standard_normal((15, 8))
    gt = np.tile(np.arange(3), 5)
    subjects = np.repeat(np.arange(5), 3)
    hook = PseudoLabelHook(n_init=4)
    prompts = np.eye(3, 8)
    raw = hook.assign(emb, prompts, match='previous')
    assert cluster_accuracy(raw, gt) < 0.7
    normed = hook.assign(emb, prompts, subjects=subjects, match='previous')
    assert cluster_accuracy(normed, gt) == 1.0


def test_subject_norm_needs_subjects(model):
    hook = PseudoLabelHook(n_init=2, subject_norm=True)
    with pytest.raises(ValueError, match='subject'):
        hook.update(fake_runner(model, ToyDataset(per_class=3)))
    runner = fake_runner(model, SubjectToyDataset())
    hook.update(runner)
    assert (hook.store.lookup(range(12)) >= 0).all()


class LandmarkToyDataset(SubjectToyDataset):
    """SubjectToyDataset whose scans have 3D landmarks: a big per-subject
    shape, a small per-expression displacement, a random head pose."""

    def __init__(self):
        super().__init__()
        rng = np.random.default_rng(2)
        self.mean = rng.standard_normal((12, 3)) * 40
        self.identity = rng.standard_normal((4, 12, 3)) * 4
        self.expression = rng.standard_normal((3, 12, 3))
        self.yaw = rng.uniform(-0.1, 0.1, len(self.labels))


def landmark_step(dataset, calls):

    def step(info):
        calls.append(info['sample_idx'])
        s, c = int(info['subject'][1:]), info['gt_label']
        pts = dataset.mean + dataset.identity[s] + dataset.expression[c]
        a = dataset.yaw[info['sample_idx']]
        rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0],
                        [-np.sin(a), 0, np.cos(a)]])
        info['mesh'] = types.SimpleNamespace(landmarks=pts @ rot.T)
        return info

    return step


def test_landmark_features_cluster_expressions_without_the_model(
        model, monkeypatch):
    dataset = LandmarkToyDataset()
    calls = []
    hook = PseudoLabelHook(
        n_init=4, features='landmarks',
        landmark_pipeline=[landmark_step(dataset, calls)])

    def no_pass(*args, **kwargs):
        raise AssertionError('landmarks need no pass of the model')

    monkeypatch.setattr(hook, 'extract', no_pass)
    runner = fake_runner(model, dataset)
    hook.update(runner)
    assert hook.last_metrics['train/pseudo_cluster_acc'] == 1.0
    labels = hook.store.lookup(range(12)).numpy()
    assert cluster_accuracy(labels, np.array(dataset.labels)) == 1.0
    # The landmarks are read once, then cached.
    hook.update(runner)
    assert calls == list(range(12))
    # Whitened to 3 components, the descriptors still find the expressions.
    hook = PseudoLabelHook(
        n_init=4, features='landmarks', landmark_components=3,
        landmark_pipeline=[landmark_step(dataset, [])])
    hook.update(runner)
    assert hook.landmark_descriptors(dataset)[0].shape == (12, 3)
    assert hook.last_metrics['train/pseudo_cluster_acc'] == 1.0


def test_both_features_and_landmark_errors(model):
    dataset = LandmarkToyDataset()
    hook = PseudoLabelHook(
        n_init=4, features='both', subject_norm=True,
        landmark_pipeline=[landmark_step(dataset, [])])
    hook.update(fake_runner(model, dataset))
    assert (hook.store.lookup(range(12)) >= 0).all()
    with pytest.raises(ValueError, match='features'):
        PseudoLabelHook(features='pixels')
    with pytest.raises(ValueError, match='landmark_pipeline'):
        PseudoLabelHook(features='landmarks').update(
            fake_runner(model, dataset))
    with pytest.raises(ValueError, match='no mesh landmarks'):
        PseudoLabelHook(features='landmarks',
                        landmark_pipeline=[lambda info: info]).update(
                            fake_runner(model, dataset))
