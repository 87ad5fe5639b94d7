# Copyright (c) mmfer4d contributors. All rights reserved.
"""Inference on mesh files and mesh sequences with a trained model."""
import copy
import os
import os.path as osp
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

from mmfer4d.registry import INFERENCERS

InputType = Union[str, Sequence[str]]
# Loading transforms of the test pipelines, replaced by file loading.
_SCAN_LOADERS = ('LoadMeshFromFile', 'SynthesizeFaceMesh')
_SEQ_LOADERS = ('LoadMeshSequence', 'SynthesizeFaceSequence')


@INFERENCERS.register_module()
class FERInferencer:
    """Classify the expression of face scans or scan sequences.

    In the spirit of mmpretrain's ``ImageClassificationInferencer``: built
    from a config and a checkpoint, it takes file paths and returns one dict
    per input. The config's test pipeline is used with its loading step
    swapped for file loading: ``LoadMeshFromFile`` for a single mesh file
    (any format :func:`mmfer4d.datasets.io.load_mesh` reads),
    ``LoadMeshSequence`` for a sequence (a list of frame files, sampled by
    the pipeline's ``SampleFrames``).

    Args:
        config (str | Config): The model's config.
        checkpoint (str, optional): Weights. Defaults to None (random
            initialisation; only useful for tests).
        device (str): ``'cpu'`` or ``'cuda'``. Defaults to 'cpu'.
        classes (Sequence[str], optional): Class names. Defaults to those of
            the config's test data set (``metainfo.classes`` or
            ``classes``), else of the checkpoint's ``dataset_meta``.

    Raises:
        ValueError: If the config has no test pipeline with a loading step.

    Examples:
        >>> inferencer = FERInferencer('CONFIG.py', 'epoch_20.pth')
        >>> inferencer(['a.wrl', 'b.obj'])[0]['pred_class']
        'happiness'
    """

    def __init__(self,
                 config: Union[str, Config],
                 checkpoint: Optional[str] = None,
                 device: str = 'cpu',
                 classes: Optional[Sequence[str]] = None) -> None:
        cfg = Config.fromfile(config) if isinstance(config, str) else \
            copy.deepcopy(config)
        self.cfg = cfg
        init_default_scope(cfg.get('default_scope', None) or 'mmfer4d')
        from mmfer4d.registry import MODELS
        # As mmengine's Runner does: the data-set config's preprocessor
        # (its rendered modalities set the model's input channels).
        cfg.model.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
        model = MODELS.build(cfg.model)
        meta = {}
        if checkpoint is not None:
            ckpt = load_checkpoint(model, checkpoint, map_location='cpu')
            meta = (ckpt or {}).get('meta', {}).get('dataset_meta') or {}
        self.model = model.to(device).eval()
        self.device = device
        self.classes = list(classes) if classes is not None else \
            self._config_classes() or meta.get('classes')
        self._pipeline = self._test_pipeline()
        self.scan_pipeline = Compose(self._swap_loader(self._pipeline, False))
        self._seq_pipeline = None

    @property
    def seq_pipeline(self) -> Compose:
        """The pipeline for sequences, built on first use.

        Raises:
            ValueError: If the config's test pipeline has no
                ``SampleFrames`` (a scan model).
        """
        if self._seq_pipeline is None:
            self._seq_pipeline = Compose(
                self._swap_loader(self._pipeline, True))
        return self._seq_pipeline

    def _config_classes(self):
        loader = self.cfg.get('test_dataloader') or {}
        dataset = loader.get('dataset') or {}
        while 'dataset' in dataset:
            dataset = dataset['dataset']
        classes = dataset.get('classes') or \
            (dataset.get('metainfo') or {}).get('classes')
        if classes is None and dataset.get('type'):
            from mmfer4d.registry import DATASETS
            try:
                cls = DATASETS.get(dataset['type'])
                classes = getattr(cls, 'METAINFO', {}).get('classes')
            except Exception:  # noqa: BLE001 - names are only a nicety
                classes = None
        return None if classes is None else list(classes)

    def _test_pipeline(self) -> list:
        pipeline = self.cfg.get('test_pipeline')
        if pipeline is None:
            dataset = (self.cfg.get('test_dataloader') or {}).get(
                'dataset') or {}
            while 'dataset' in dataset:
                dataset = dataset['dataset']
            pipeline = dataset.get('pipeline')
        if not pipeline:
            raise ValueError('the config has no test pipeline (test_pipeline '
                             'or test_dataloader.dataset.pipeline)')
        return [dict(t) for t in pipeline]

    @staticmethod
    def _swap_loader(pipeline: list, sequence: bool) -> list:
        out, found = [], False
        for step in pipeline:
            kind = str(step.get('type', '')).split('.')[-1]
            if kind in _SCAN_LOADERS + _SEQ_LOADERS:
                found = True
                out.append(
                    dict(type='LoadMeshSequence') if sequence else dict(
                        type='LoadMeshFromFile'))
            elif kind == 'SampleFrames' and not sequence:
                continue
            else:
                out.append(step)
        if not found:
            raise ValueError('the test pipeline has no mesh loading or '
                             f'synthesis step to replace: {pipeline}')
        if sequence and not any(
                str(s.get('type', '')).endswith('SampleFrames') for s in out):
            raise ValueError('the config\'s test pipeline has no '
                             'SampleFrames: it is not a sequence model')
        return out

    def _prepare(self, item: InputType) -> dict:
        if isinstance(item, str):
            return self.scan_pipeline(
                dict(mesh_path=item, gt_label=-1, subject='', sample_idx=0))
        frames = [str(p) for p in item]
        return self.seq_pipeline(
            dict(frame_paths=frames, num_frames=len(frames), gt_label=-1,
                 subject='', sample_idx=0))

    def __call__(self,
                 inputs: Union[InputType, List[InputType]],
                 return_embeddings: bool = False,
                 batch_size: int = 1,
                 show_dir: Optional[str] = None) -> List[dict]:
        """Classify the inputs.

        Args:
            inputs (str | list): One mesh path, a list of mesh paths, or a
                list whose items are lists of frame paths (sequences).
            return_embeddings (bool): Add the fused ``embedding``.
                Defaults to False.
            batch_size (int): Inputs per forward. Defaults to 1.
            show_dir (str, optional): Save the rendered views of each input
                with its prediction as PNG here.

        Returns:
            list[dict]: Per input: ``input``, ``pred_label`` (int or None),
            ``pred_class``, ``pred_score`` (list of float), optionally
            ``embedding`` (list of float), and ``error`` (None, or the
            message of the :class:`MeshReadError` / ``OSError`` that made
            this input fail; the others are still classified).
        """
        from mmfer4d.datasets.io import MeshReadError
        if isinstance(inputs, str):
            inputs = [inputs]
        results = [dict(input=i if isinstance(i, str) else list(i))
                   for i in inputs]
        ready = []
        for i, item in enumerate(inputs):
            try:
                ready.append((i, self._prepare(item)))
            except (MeshReadError, OSError) as err:
                results[i].update(
                    pred_label=None, pred_class=None, pred_score=None,
                    error=str(err))
        for start in range(0, len(ready), batch_size):
            chunk = ready[start:start + batch_size]
            with torch.no_grad():
                outputs = self.model.test_step(
                    pseudo_collate([data for _, data in chunk]))
            for (i, data), sample in zip(chunk, outputs):
                score = sample.pred_score.detach().float().cpu()
                label = int(score.argmax())
                res = results[i]
                res.update(
                    pred_label=label,
                    pred_class=self.classes[label]
                    if self.classes and label < len(self.classes) else
                    str(label),
                    pred_score=score.tolist(),
                    error=None)
                if return_embeddings and 'embedding' in sample:
                    res['embedding'] = sample.embedding.detach().float().cpu(
                    ).reshape(-1).tolist()
                if show_dir is not None:
                    res['show_file'] = save_views(
                        data['inputs'], res, show_dir, i)
        return results


def save_views(inputs: torch.Tensor, result: dict, show_dir: str,
               index: int) -> str:
    """Save the rendered views of one input with its prediction (PNG).

    Args:
        inputs (torch.Tensor): ``(V, C, H, W)`` or ``(T, V, C, H, W)``
            uint8 (the middle frame of a sequence is shown).
        result (dict): The prediction (``pred_class``, ``pred_score``).
        show_dir (str): Output folder.
        index (int): Input index, part of the file name.

    Returns:
        str: The PNG path.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    views = inputs.detach().cpu().numpy()
    if views.ndim == 5:
        views = views[views.shape[0] // 2]
    num = views.shape[0]
    fig = Figure(figsize=(2.5 * num, 2.9), dpi=100)
    FigureCanvasAgg(fig)
    for v in range(num):
        ax = fig.add_subplot(1, num, v + 1)
        img = views[v]
        if img.shape[0] == 3:
            ax.imshow(np.transpose(img, (1, 2, 0)))
        else:
            ax.imshow(img[0], cmap='gray')
        ax.set_axis_off()
    name = result['input'] if isinstance(result['input'], str) else \
        result['input'][0]
    conf = max(result['pred_score']) if result['pred_score'] else 0.0
    fig.suptitle(f'{osp.basename(name)}: {result["pred_class"]} '
                 f'({100 * conf:.1f}%)')
    os.makedirs(show_dir, exist_ok=True)
    out = osp.join(show_dir,
                   f'{index:04d}_{osp.splitext(osp.basename(name))[0]}.png')
    fig.savefig(out, bbox_inches='tight')
    return out
