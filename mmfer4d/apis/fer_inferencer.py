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

from mmfer4d.datasets._file_index import frame_key
from mmfer4d.datasets.io import MESH_EXTENSIONS
from mmfer4d.registry import INFERENCERS

InputType = Union[str, bytes, os.PathLike, Sequence[str]]
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
    ``LoadMeshSequence`` for a sequence (a list of frame files or a folder
    of them, sampled by the pipeline's ``SampleFrames``). Every input gets
    a row; one that cannot be classified gets its error in the row and the
    others go on (see :meth:`__call__`).

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
        from mmfer4d.models.utils import build_model_from_cfg
        model = build_model_from_cfg(cfg)
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

    def _prepare(self, item: Union[str, List[str]]) -> dict:
        if isinstance(item, str):
            return self.scan_pipeline(
                dict(mesh_path=item, gt_label=-1, subject='', sample_idx=0))
        return self.seq_pipeline(
            dict(frame_paths=item, num_frames=len(item), gt_label=-1,
                 subject='', sample_idx=0))

    def __call__(self,
                 inputs: Union[InputType, List[InputType]],
                 return_embeddings: bool = False,
                 batch_size: int = 1,
                 show_dir: Optional[str] = None) -> List[dict]:
        """Classify the inputs; an input that fails gets its error instead.

        Whatever goes wrong with one input (a missing, empty, truncated or
        garbage file, an unknown extension, a folder, NaN or overflowing
        coordinates, a mesh without faces, a sequence with a broken frame
        or no frames, a non-finite model output...) is reported in that
        input's row, and the other inputs are still classified.

        Args:
            inputs (str | list): One input or a list of them. An input is a
                mesh path (``str``, ``bytes`` or ``os.PathLike``), a list of
                frame paths (a sequence), or a folder of frames (a sequence,
                frames sorted by the number in their names).
            return_embeddings (bool): Add the fused ``embedding``.
                Defaults to False.
            batch_size (int): Inputs per forward. Defaults to 1.
            show_dir (str, optional): Save the rendered views of each input
                with its prediction as PNG here.

        Returns:
            list[dict]: One row per input, in order: ``input`` (the path or
            list of frame paths, as ``str``), ``pred_label`` (int or None),
            ``pred_class``, ``pred_score`` (list of float, one per class),
            optionally ``embedding`` (list of float) and ``show_file``, and
            ``error``: None, or ``'{ExceptionType}: {message}'`` saying
            why this input has no prediction.
        """
        if isinstance(inputs, (str, bytes, os.PathLike)):
            inputs = [inputs]
        results, ready = [], []
        for i, item in enumerate(inputs):
            row = dict(input=_describe(item), pred_label=None,
                       pred_class=None, pred_score=None, error=None)
            results.append(row)
            try:
                ready.append((i, self._prepare(_as_input(item))))
            except Exception as err:  # noqa: BLE001 - reported per input
                row['error'] = _error_text(err)
        step = max(int(batch_size), 1)
        for start in range(0, len(ready), step):
            self._forward(ready[start:start + step], results,
                          return_embeddings, show_dir)
        return results

    def _forward(self, chunk, results, return_embeddings, show_dir):
        """Run one batch; on failure, each input alone, to find the bad
        ones."""
        try:
            with torch.no_grad():
                outputs = self.model.test_step(
                    pseudo_collate([data for _, data in chunk]))
        except Exception as err:  # noqa: BLE001 - reported per input
            if len(chunk) > 1:
                for one in chunk:
                    self._forward([one], results, return_embeddings,
                                  show_dir)
            else:
                results[chunk[0][0]]['error'] = _error_text(err)
            return
        for (i, data), sample in zip(chunk, outputs):
            res = results[i]
            score = sample.pred_score.detach().float().cpu()
            if not torch.isfinite(score).all():
                res['error'] = ('ValueError: the model gave non-finite '
                                'scores for this input')
                continue
            label = int(score.argmax())
            res.update(
                pred_label=label,
                pred_class=self.classes[label]
                if self.classes and label < len(self.classes) else
                str(label),
                pred_score=score.tolist())
            if return_embeddings and 'embedding' in sample:
                res['embedding'] = sample.embedding.detach().float().cpu(
                ).reshape(-1).tolist()
            if show_dir is not None:
                try:
                    res['show_file'] = save_views(data['inputs'], res,
                                                  show_dir, i)
                except Exception as err:  # noqa: BLE001 - a picture only
                    res['show_error'] = _error_text(err)


def _as_input(item) -> Union[str, List[str]]:
    """A mesh path (``str``) or a list of frame paths, from any input.

    Raises:
        TypeError: If ``item`` is neither a path nor a list of paths.
        ValueError: If a sequence has no frames.
    """
    if isinstance(item, (str, bytes, os.PathLike)):
        path = os.fsdecode(item)
        if not osp.isdir(path):
            return path
        frames = sorted(
            (e.name for e in os.scandir(path)
             if e.is_file() and _is_mesh(e.name)), key=frame_key)
        if not frames:
            raise ValueError(f'{path}: the folder holds no mesh frames '
                             f'(expected files ending in '
                             f'{", ".join(MESH_EXTENSIONS)})')
        return [osp.join(path, f) for f in frames]
    if isinstance(item, (list, tuple)):
        if not item:
            raise ValueError('an empty sequence (no frame paths)')
        return [_as_input_path(p) for p in item]
    raise TypeError(f'an input must be a path, a list of frame paths or a '
                    f'folder, got {type(item).__name__}')


def _as_input_path(item) -> str:
    if not isinstance(item, (str, bytes, os.PathLike)):
        raise TypeError(f'a frame must be a path, got {type(item).__name__}')
    return os.fsdecode(item)


def _is_mesh(name: str) -> bool:
    name = name.lower()
    return name.endswith('.wrl.gz') or osp.splitext(name)[1] in \
        MESH_EXTENSIONS


def _describe(item):
    """The input as a row shows it (JSON-friendly)."""
    if isinstance(item, (str, bytes, os.PathLike)):
        return os.fsdecode(item)
    if isinstance(item, (list, tuple)):
        return [_describe(p) for p in item]
    return repr(item)


def _error_text(err: BaseException) -> str:
    return f'{type(err).__name__}: {err}'


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
