# Copyright (c) mmfer4d contributors. All rights reserved.
"""Pseudo-labels for self-supervised SMILE-VLM (``text_source='pseudo'``).

At set epochs the fused embeddings of the whole training set are clustered
with k-means (K = number of classes), every cluster is matched to one class
prompt by a Hungarian assignment on centroid-prompt cosine similarity, and
the matched classes become the samples' pseudo-labels (Behzad, arXiv
2506.01203, self-supervised text source).
"""
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
from mmfer4d.registry import HOOKS

#: Key of the pseudo-labels in an mmengine checkpoint.
CHECKPOINT_KEY = 'pseudo_labels'


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
    fused embeddings with k-means (scikit-learn, seeded), matches clusters
    to class prompts (:func:`match_clusters_to_prompts`) and keeps the
    matched classes in its :attr:`store` by ``sample_idx``. Rank 0's
    labels are broadcast to all ranks.

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
    ``train/pseudo_label_acc`` (accuracy of the prompt-matched pseudo-labels).

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

    Raises:
        ValueError: If ``interval < 1``, the data set has fewer samples
            than classes, or a training sample has no ``sample_idx``.
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
                 n_init: int = 10):
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
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
    def extract(self, model, dataset,
                batch_size: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Fused embeddings ``(M, D)``, sample indices ``(M,)`` and ground
        truth ``(M,)`` (-1 where missing) of ``dataset``."""
        loader = DataLoader(
            _PipelineView(dataset, self.pipeline),
            batch_size=batch_size,
            shuffle=False,
            num_workers=self.num_workers,
            collate_fn=pseudo_collate)
        was_training = model.training
        model.eval()
        embs, indices, gts = [], [], []
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
                    gt = getattr(ds, 'gt_label', None) if ds is not None \
                        else None
                    gts.append(
                        int(gt.reshape(-1)[0]
                            ) if gt is not None and gt.numel() else -1)
                    position += 1
        finally:
            model.train(was_training)
        return (torch.cat(embs).numpy(), np.asarray(indices, np.int64),
                np.asarray(gts, np.int64))

    def assign(self, embeddings: np.ndarray,
               class_embeddings: np.ndarray) -> np.ndarray:
        """k-means on L2-normalised ``embeddings`` ``(M, D)``, clusters
        matched to ``class_embeddings`` ``(K, D)``: pseudo-labels ``(M,)``."""
        from sklearn.cluster import KMeans
        k = class_embeddings.shape[0]
        if embeddings.shape[0] < k:
            raise ValueError(f'cannot cluster {embeddings.shape[0]} samples '
                             f'into {k} classes')
        z = F.normalize(torch.from_numpy(embeddings), dim=-1).numpy()
        km = KMeans(n_clusters=k, n_init=self.n_init, random_state=self.seed)
        clusters = km.fit_predict(z)
        mapping = match_clusters_to_prompts(km.cluster_centers_,
                                            class_embeddings)
        self._clusters = clusters
        return mapping[clusters]

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
        embs, indices, gts = self.extract(model, dataset, batch_size)
        with torch.no_grad():
            was_training = model.training
            model.eval()
            class_emb = model.class_text_embeddings().float().cpu().numpy()
            model.train(was_training)
        labels = torch.from_numpy(self.assign(embs, class_emb))
        # Ranks may see different augmentations: everyone uses rank 0's.
        broadcast(labels, src=0)
        self.store.num_classes = model.num_classes
        self.store.update(indices.tolist(), labels)

        known = gts >= 0
        metrics = {}
        if known.any():
            metrics['train/pseudo_cluster_acc'] = cluster_accuracy(
                self._clusters[known], gts[known])
            metrics['train/pseudo_label_acc'] = float(
                (labels.numpy()[known] == gts[known]).mean())
        self.last_metrics = metrics
        for key, value in metrics.items():
            runner.message_hub.update_scalar(key, value)
        if get_rank() == 0:
            runner.logger.info(
                f'PseudoLabelHook (epoch {runner.epoch}): {len(labels)} '
                'pseudo-labels; ' + ', '.join(f'{k}={v:.4f}'
                                              for k, v in metrics.items()))
