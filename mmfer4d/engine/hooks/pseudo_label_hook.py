# Copyright (c) mmfer4d contributors. All rights reserved.
"""Pseudo-labels for self-supervised SMILE-VLM (``text_source='pseudo'``).

At set epochs the fused embeddings of the whole training set are clustered
with k-means (K = number of classes) and every cluster becomes one class
id, the sample's pseudo-label (Behzad, arXiv 2506.01203, self-supervised
text source).

Two choices decide whether this learns expression or identity:

* **What is clustered.** Raw embeddings of a face group by *who* it is far
  more than by *what it shows* (the demo's first pseudo-label run: 33%
  clustering accuracy, chance 17%). With ``subject_norm=True`` each
  subject's mean embedding is removed first
  (:func:`~mmfer4d.evaluation.metrics.normalize_per_subject`): every
  subject shows every expression, so what is left is the expression. It
  uses **subject ids, no expression labels** (the ``subject`` metainfo).
  That is not enough from a random-init network (on the demo's held-out
  subjects: 26% clustering accuracy), so ``features='landmarks'`` clusters
  the scans' 3D landmarks instead, Procrustes-aligned and minus the
  subject's mean shape (:func:`~mmfer4d.utils.expression_descriptors`;
  87% on the same scans, no label involved): a geometric teacher whose
  clusters the network then learns to see in the renders through the
  vision-language loss. ``'both'`` adds the (subject-centred) embeddings,
  for refinement once the network has learnt something.
* **Which prompt a cluster gets.** Matching cluster centroids to class
  prompts (Hungarian, cosine) means something only when the text tower
  already knows what "a happy face" is (``pretrained`` weights); a
  random-init tower's prompts are arbitrary vectors, so the match is an
  arbitrary permutation. Then (``match='previous'``, what ``'auto'`` picks
  for a random tower) the clusters are aligned with the previous update's
  pseudo-labels instead (Hungarian on the contingency table), which keeps
  a cluster on the same prompt from epoch to epoch, and no zero-shot
  accuracy should be read from the prompts.
"""
import copy
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.dataset import Compose, pseudo_collate
from mmengine.dist import broadcast, get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from scipy.optimize import linear_sum_assignment
from torch.utils.data import DataLoader, Dataset

from mmfer4d.evaluation.metrics.clustering_metric import cluster_accuracy
from mmfer4d.evaluation.metrics.subject_normalization import \
    normalize_per_subject
from mmfer4d.registry import HOOKS
from mmfer4d.utils.landmark_geometry import (expression_descriptors,
                                             pca_whiten)

#: Key of the pseudo-labels in an mmengine checkpoint.
CHECKPOINT_KEY = 'pseudo_labels'
#: What k-means clusters (see :class:`PseudoLabelHook`).
_FEATURES = ('embedding', 'landmarks', 'both')


class PseudoLabelStore:
    """Pseudo-labels by ``sample_idx``, owned by :class:`PseudoLabelHook`.

    Args:
        num_classes (int, optional): Labels must lie in
            ``[-1, num_classes)`` (-1: none). Defaults to None (checked
            when set).
    """

    def __init__(self, num_classes: Optional[int] = None):
        self.num_classes = num_classes
        self._labels: Dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._labels)

    def update(self, sample_idx: Iterable[int],
               labels: Iterable[int]) -> None:
        """Set the labels of ``sample_idx`` (other samples keep theirs).

        Raises:
            ValueError: If the lengths differ or a label is out of range.
        """
        sample_idx = torch.as_tensor(list(sample_idx), dtype=torch.long)
        labels = torch.as_tensor(labels, dtype=torch.long).flatten()
        if sample_idx.numel() != labels.numel():
            raise ValueError(f'{sample_idx.numel()} sample indices but '
                             f'{labels.numel()} labels')
        high = self.num_classes
        if labels.numel() and (labels.min() < -1 or
                               (high is not None and labels.max() >= high)):
            raise ValueError(f'pseudo-labels must be in [-1, {high}), got '
                             f'[{int(labels.min())}, {int(labels.max())}]')
        self._labels.update(zip(sample_idx.tolist(), labels.tolist()))

    def lookup(self, sample_idx: Iterable[int]) -> torch.Tensor:
        """Labels ``(N,)`` of ``sample_idx``, -1 where none."""
        return torch.tensor([self._labels.get(int(i), -1) for i in sample_idx],
                            dtype=torch.long)

    def state_dict(self) -> Dict[str, torch.Tensor]:
        """``sample_idx`` and ``labels`` as ``(M,)`` int64 tensors."""
        keys = sorted(self._labels)
        return dict(
            sample_idx=torch.tensor(keys, dtype=torch.long),
            labels=torch.tensor([self._labels[k] for k in keys],
                                dtype=torch.long))

    def load_state_dict(self, state: Dict[str, torch.Tensor]) -> None:
        """Replace the labels by those of :meth:`state_dict`."""
        self._labels = {}
        self.update(state['sample_idx'].tolist(), state['labels'])


def match_clusters_to_prompts(centroids: np.ndarray,
                              class_embeddings: np.ndarray) -> np.ndarray:
    """Hungarian assignment of clusters to classes by cosine similarity.

    Args:
        centroids (np.ndarray): ``(K, D)`` cluster centres.
        class_embeddings (np.ndarray): ``(K, D)`` class prompt embeddings.

    Returns:
        np.ndarray: ``(K,)`` class of every cluster (a permutation).

    Raises:
        ValueError: If the shapes differ.
    """
    if centroids.shape != class_embeddings.shape:
        raise ValueError(f'centroids {centroids.shape} and class embeddings '
                         f'{class_embeddings.shape} must have the same shape')
    c = centroids / np.maximum(
        np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
    t = class_embeddings / np.maximum(
        np.linalg.norm(class_embeddings, axis=1, keepdims=True), 1e-12)
    rows, cols = linear_sum_assignment(-(c @ t.T))
    mapping = np.empty(len(rows), dtype=np.int64)
    mapping[rows] = cols
    return mapping


def match_clusters_to_previous(clusters: np.ndarray,
                               previous: np.ndarray,
                               num_classes: int) -> np.ndarray:
    """Hungarian alignment of new clusters with the previous labels.

    Args:
        clusters (np.ndarray): ``(M,)`` new cluster ids in
            ``[0, num_classes)``.
        previous (np.ndarray): ``(M,)`` previous pseudo-labels of the same
            samples, -1 where none (ignored).
        num_classes (int): K.

    Returns:
        np.ndarray: ``(K,)`` label of every cluster (a permutation) that
        maximises the agreement with ``previous``; the identity when no
        sample has a previous label.

    Raises:
        ValueError: If the lengths differ or an id is out of range.
    """
    clusters = np.asarray(clusters, dtype=np.int64).reshape(-1)
    previous = np.asarray(previous, dtype=np.int64).reshape(-1)
    if clusters.shape != previous.shape:
        raise ValueError(f'{clusters.size} clusters but {previous.size} '
                         'previous labels')
    if clusters.size and (clusters.min() < 0
                          or clusters.max() >= num_classes
                          or previous.max() >= num_classes):
        raise ValueError(f'cluster ids and labels must be < {num_classes}')
    known = previous >= 0
    table = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(table, (clusters[known], previous[known]), 1)
    rows, cols = linear_sum_assignment(table, maximize=True)
    mapping = np.empty(num_classes, dtype=np.int64)
    mapping[rows] = cols
    return mapping


def text_tower_is_pretrained(model) -> bool:
    """Whether ``model.text_encoder`` was built with ``pretrained``
    weights (a tag or checkpoint), i.e. whether its prompts mean
    anything before training."""
    encoder = getattr(model, 'text_encoder', None)
    return getattr(encoder, 'pretrained', None) is not None


class _PipelineView(Dataset):
    """The samples of ``dataset`` through another pipeline (or its own)."""

    def __init__(self, dataset, pipeline: Optional[Sequence[dict]]):
        self.dataset = dataset
        self.pipeline = Compose(pipeline) if pipeline is not None else None

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, idx: int) -> dict:
        if self.pipeline is None:
            return self.dataset[idx]
        return self.pipeline(self.dataset.get_data_info(idx))


@HOOKS.register_module()
class PseudoLabelHook(Hook):
    """Pseudo-labels for :class:`SMILEVLM` with ``text_source='pseudo'``.

    **Update.** Before every epoch ``e >= start_epoch`` with
    ``(e - start_epoch) % interval == 0``, the hook runs the model in eval
    mode over ``runner.train_dataloader.dataset`` (in index order, through
    ``pipeline`` when given, e.g. the test-time pipeline without random
    augmentation, else through the dataset's own pipeline), clusters the
    fused embeddings (per-subject centred with ``subject_norm``) with
    k-means (scikit-learn, seeded), gives every cluster a class id
    (``match``: by prompt similarity, :func:`match_clusters_to_prompts`,
    or by agreement with the previous labels,
    :func:`match_clusters_to_previous`) and keeps the ids in its
    :attr:`store` by ``sample_idx``. Rank 0's labels are broadcast to all
    ranks. See the module doc for why.

    **Use.** Before every training iteration the hook attaches to each data
    sample of the batch its label as the data field ``pseudo_label``
    (``(1,)`` int64, -1 before the first update), which the model reads.
    This happens in the main process, so data-loader workers never see the
    store.

    **Checkpoints.** The store is saved under the checkpoint key
    ``'pseudo_labels'`` and restored when a checkpoint is loaded or
    resumed.

    Logged to the message hub (and the logger): ``train/pseudo_cluster_acc``
    (Hungarian-matched clustering accuracy vs. ground truth) and
    ``train/pseudo_label_acc`` (accuracy of the pseudo-labels, only when
    they are matched to prompts). Both use the ground truth for logging
    only.

    Args:
        interval (int): Epochs between updates. Defaults to 1.
        start_epoch (int): First (0-based) epoch to update before.
            Defaults to 0.
        pipeline (list[dict], optional): Deterministic pipeline applied to
            ``dataset.get_data_info(i)``. Defaults to None.
        batch_size (int, optional): Defaults to the train loader's.
        num_workers (int): Loader workers of the pass. Defaults to 0.
        seed (int): k-means seed. Defaults to 0.
        n_init (int): k-means restarts. Defaults to 10.
        subject_norm (bool): Remove every subject's mean embedding before
            k-means (uses subject ids, no expression labels). Defaults to
            False. (Landmark descriptors are always subject-centred.)
        match (str): ``'prompts'``, ``'previous'`` or ``'auto'``
            (``'prompts'`` if the text encoder has ``pretrained``
            weights, else ``'previous'``). Defaults to 'auto'. The choice
            made is :attr:`matched_to`.

    Raises:
        ValueError: If ``interval < 1``, ``match`` or ``features`` is
            unknown, the data
            set has fewer samples than classes, a training sample has no
            ``sample_idx``, or (``subject_norm``) no ``subject``.
        TypeError: If the model lacks the pseudo-label interface.
    """

    priority = 'NORMAL'

    def __init__(self,
                 interval: int = 1,
                 start_epoch: int = 0,
                 pipeline: Optional[List[dict]] = None,
                 batch_size: Optional[int] = None,
                 num_workers: int = 0,
                 seed: int = 0,
                 n_init: int = 10,
                 subject_norm: bool = False,
                 match: str = 'auto',
                 features: str = 'embedding',
                 landmark_pipeline: Optional[List[dict]] = None,
                 landmark_components: Optional[int] = None):
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        if match not in ('auto', 'prompts', 'previous'):
            raise ValueError("match must be 'auto', 'prompts' or "
                             f"'previous', got {match!r}")
        if features not in _FEATURES:
            raise ValueError(f'features must be one of {_FEATURES}, got '
                             f'{features!r}')
        self.subject_norm = subject_norm
        self.match = match
        self.features = features
        self.landmark_pipeline = landmark_pipeline
        self.landmark_components = landmark_components
        self._landmark_cache = None
        self.matched_to: Optional[str] = None
        self.interval = interval
        self.start_epoch = start_epoch
        self.pipeline = pipeline
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.seed = seed
        self.n_init = n_init
        self.store = PseudoLabelStore()
        self.last_metrics: Dict[str, float] = {}

    def _due(self, epoch: int) -> bool:
        return (epoch >= self.start_epoch
                and (epoch - self.start_epoch) % self.interval == 0)

    def before_train_epoch(self, runner) -> None:
        if self._due(runner.epoch):
            self.update(runner)

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        """Attach ``pseudo_label`` to every data sample of the batch."""
        if data_batch is None:
            return
        samples = data_batch.get('data_samples') if isinstance(
            data_batch, dict) else None
        if not samples:
            raise ValueError('PseudoLabelHook needs data samples with '
                             '`sample_idx` in the training batches')
        self.attach(samples)

    def attach(self, data_samples: Sequence) -> None:
        """Set ``pseudo_label`` ``(1,)`` of every sample from the store.

        Raises:
            ValueError: If a sample has no ``sample_idx`` in its metainfo.
        """
        indices = []
        for i, ds in enumerate(data_samples):
            if 'sample_idx' not in ds.metainfo:
                raise ValueError('PseudoLabelHook needs `sample_idx` in the '
                                 f'metainfo of data sample {i}')
            indices.append(int(ds.metainfo['sample_idx']))
        for ds, label in zip(data_samples, self.store.lookup(indices)):
            ds.set_field(label.view(1), 'pseudo_label', field_type='data')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint[CHECKPOINT_KEY] = self.store.state_dict()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if CHECKPOINT_KEY in checkpoint:
            self.store.load_state_dict(checkpoint[CHECKPOINT_KEY])

    @torch.no_grad()
    def extract(self, model, dataset, batch_size: int
                ) -> Tuple[np.ndarray, np.ndarray, np.ndarray, list]:
        """Fused embeddings ``(M, D)``, sample indices ``(M,)``, ground
        truth ``(M,)`` (-1 where missing; for logging only) and subject
        ids (None where missing) of ``dataset``."""
        loader = DataLoader(
            _PipelineView(dataset, self.pipeline),
            batch_size=batch_size,
            shuffle=False,
            num_workers=self.num_workers,
            collate_fn=pseudo_collate)
        was_training = model.training
        model.eval()
        embs, indices, gts, subjects = [], [], [], []
        position = 0
        try:
            for batch in loader:
                data = model.data_preprocessor(batch, False)
                fused, _ = model(
                    data['inputs'], data.get('data_samples'), mode='tensor')
                embs.append(fused.float().cpu())
                samples = data.get('data_samples') or [None] * len(fused)
                for ds in samples:
                    meta = ds.metainfo if ds is not None else {}
                    indices.append(int(meta.get('sample_idx', position)))
                    subjects.append(meta.get('subject'))
                    gt = getattr(ds, 'gt_label', None) if ds is not None \
                        else None
                    gts.append(
                        int(gt.reshape(-1)[0]
                            ) if gt is not None and gt.numel() else -1)
                    position += 1
        finally:
            model.train(was_training)
        return (torch.cat(embs).numpy(), np.asarray(indices, np.int64),
                np.asarray(gts, np.int64), subjects)

    def assign(self,
               embeddings: Optional[np.ndarray],
               class_embeddings: np.ndarray,
               subjects: Optional[Sequence] = None,
               previous: Optional[np.ndarray] = None,
               match: str = 'prompts',
               descriptors: Optional[np.ndarray] = None) -> np.ndarray:
        """Pseudo-labels ``(M,)`` by k-means.

        Clustered: the L2-normalised ``embeddings`` ``(M, D)`` (per-subject
        centred first when ``subjects`` ``(M,)`` is given; left out with
        ``features='landmarks'``), concatenated with ``descriptors``
        ``(M, F)`` (unit rows) when given, each part scaled by
        ``1 / sqrt(parts)``. Clusters are named by ``class_embeddings``
        ``(K, D)`` (``match='prompts'``: the cluster means of the
        normalised embeddings against the prompts) or by the ``previous``
        labels ``(M,)`` (``'previous'``).

        Raises:
            ValueError: With fewer samples than classes, nothing to
                cluster, or ``match='prompts'`` without embeddings.
        """
        from sklearn.cluster import KMeans
        k = class_embeddings.shape[0]
        parts = []
        unit = None
        if embeddings is not None:
            unit = F.normalize(torch.from_numpy(
                np.asarray(embeddings, np.float32)), dim=-1).numpy()
            if self.features != 'landmarks':
                parts.append(
                    normalize_per_subject(embeddings, subjects)
                    if subjects is not None else unit)
        if descriptors is not None:
            parts.append(np.asarray(descriptors, np.float64))
        if not parts:
            raise ValueError('nothing to cluster: no embeddings and no '
                             'landmark descriptors')
        num = parts[0].shape[0]
        if num < k:
            raise ValueError(f'cannot cluster {num} samples into {k} '
                             'classes')
        z = np.concatenate(parts, axis=1) / np.sqrt(len(parts))
        km = KMeans(n_clusters=k, n_init=self.n_init, random_state=self.seed)
        clusters = km.fit_predict(z)
        if match == 'prompts':
            if unit is None:
                raise ValueError("match='prompts' needs the embeddings")
            centroids = np.stack([
                unit[clusters == c].mean(0) if (clusters == c).any() else
                np.zeros(unit.shape[1], unit.dtype) for c in range(k)
            ])
            mapping = match_clusters_to_prompts(centroids, class_embeddings)
        else:
            if previous is None:
                previous = np.full(len(clusters), -1, dtype=np.int64)
            mapping = match_clusters_to_previous(clusters, previous, k)
        self._clusters = clusters
        return mapping[clusters]

    def landmark_descriptors(self, dataset) -> Tuple[np.ndarray, np.ndarray,
                                                     np.ndarray, list]:
        """Expression descriptors of the training scans' landmarks.

        Every ``dataset.get_data_info(i)`` goes through
        ``landmark_pipeline`` (which must leave a ``mesh`` with
        ``landmarks``), and :func:`expression_descriptors` turns the
        ``(M, L, 3)`` landmarks into ``(M, L * 3)`` rows (``(M, k)``
        after :func:`~mmfer4d.utils.pca_whiten` with
        ``landmark_components``). Landmarks of a
        scan do not change between epochs, so the result is computed once
        per data set size and cached.

        Returns:
            tuple: descriptors ``(M, L * 3)``, ``sample_idx`` ``(M,)``,
            ground truth ``(M,)`` (-1 where missing; for logging only) and
            subject ids, in data set order.

        Raises:
            ValueError: Without ``landmark_pipeline``, or if a scan has no
                landmarks or no ``subject``.
        """
        if self._landmark_cache is not None and \
                self._landmark_cache[0] == len(dataset):
            return self._landmark_cache[1]
        if not self.landmark_pipeline:
            raise ValueError("features='landmarks' needs a "
                             'landmark_pipeline that makes `mesh`')
        pipeline = Compose(self.landmark_pipeline)
        points, indices, gts, subjects = [], [], [], []
        for i in range(len(dataset)):
            info = dataset.get_data_info(i)
            results = pipeline(copy.deepcopy(info))
            mesh = results.get('mesh')
            landmarks = getattr(mesh, 'landmarks', None)
            if landmarks is None:
                raise ValueError(f'training sample {i} has no mesh '
                                 'landmarks after landmark_pipeline')
            if info.get('subject') is None:
                raise ValueError(f'training sample {i} has no `subject`')
            points.append(np.asarray(landmarks, np.float64))
            indices.append(int(info.get('sample_idx', i)))
            gt = info.get('gt_label', -1)
            gts.append(-1 if gt is None else int(np.asarray(gt).reshape(-1)
                                                 [0]))
            subjects.append(info['subject'])
        desc = expression_descriptors(np.stack(points), subjects)
        if self.landmark_components:
            desc = pca_whiten(desc, self.landmark_components)
        out = (desc,
               np.asarray(indices, np.int64), np.asarray(gts, np.int64),
               subjects)
        self._landmark_cache = (len(dataset), out)
        return out

    def update(self, runner) -> None:
        """Recompute and store the pseudo-labels (see the class doc)."""
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        for attr in ('class_text_embeddings', 'num_classes'):
            if not hasattr(model, attr):
                raise TypeError(f'PseudoLabelHook needs a model with '
                                f'`{attr}` (SMILEVLM), got {type(model)}')
        loader = runner.train_dataloader
        dataset = loader.dataset
        batch_size = self.batch_size or getattr(loader, 'batch_size',
                                                None) or 32
        if len(dataset) < model.num_classes:
            raise ValueError(f'cannot cluster {len(dataset)} samples into '
                             f'{model.num_classes} classes')
        match = self.match
        if match == 'auto':
            match = 'prompts' if text_tower_is_pretrained(model) else \
                'previous'
        self.matched_to = match
        descriptors = embs = None
        if self.features != 'embedding':
            descriptors, indices, gts, subjects = self.landmark_descriptors(
                dataset)
        if self.features != 'landmarks' or match == 'prompts':
            order = indices if descriptors is not None else None
            embs, indices, gts, subjects = self.extract(
                model, dataset, batch_size)
            if order is not None:
                # Rows of the descriptors in the order of the pass.
                row = {int(v): r for r, v in enumerate(order)}
                descriptors = descriptors[[row[int(v)] for v in indices]]
        if self.subject_norm and any(s is None for s in subjects):
            raise ValueError('PseudoLabelHook(subject_norm=True) needs the '
                             '`subject` metainfo in every training sample')
        with torch.no_grad():
            was_training = model.training
            model.eval()
            class_emb = model.class_text_embeddings().float().cpu().numpy()
            model.train(was_training)
        labels = torch.from_numpy(
            self.assign(
                embs, class_emb,
                subjects=subjects if self.subject_norm else None,
                previous=self.store.lookup(indices.tolist()).numpy(),
                match=match,
                descriptors=descriptors))
        # Ranks may see different augmentations: everyone uses rank 0's.
        broadcast(labels, src=0)
        self.store.num_classes = model.num_classes
        self.store.update(indices.tolist(), labels)

        known = gts >= 0
        metrics = {}
        if known.any():
            metrics['train/pseudo_cluster_acc'] = cluster_accuracy(
                self._clusters[known], gts[known])
            if match == 'prompts':
                # Only prompt-matched ids can be compared with classes.
                metrics['train/pseudo_label_acc'] = float(
                    (labels.numpy()[known] == gts[known]).mean())
        self.last_metrics = metrics
        for key, value in metrics.items():
            runner.message_hub.update_scalar(key, value)
        if get_rank() == 0:
            scores = ', '.join(f'{k}={v:.4f}' for k, v in metrics.items())
            runner.logger.info(
                f'PseudoLabelHook (epoch {runner.epoch}): {len(labels)} '
                f'pseudo-labels (features={self.features}, subject_norm='
                f'{self.subject_norm}, clusters matched to {match}); '
                f'{scores}')
