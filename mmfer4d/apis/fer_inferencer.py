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
from mmengine.infer import BaseInferencer
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
class FERInferencer(BaseInferencer):
    """Classify the expression of face scans or scan sequences.

    An mmengine :class:`~mmengine.infer.BaseInferencer` with the shape of
    mmpretrain's ``ImageClassificationInferencer``: built from a config and
    a checkpoint, called on inputs, it runs :meth:`preprocess` (the
    config's test pipeline, batched), :meth:`forward` (``test_step``),
    :meth:`visualize` (PNGs in ``show_dir``) and :meth:`postprocess` (one
    JSON-friendly dict per input). The loading step of the test pipeline is
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
        show_progress (bool): Show a progress bar over the batches.
            Defaults to False.

    Raises:
        ValueError: If the config has no test pipeline with a loading step.

    Examples:
        >>> inferencer = FERInferencer('CONFIG.py', 'epoch_20.pth')
        >>> row = inferencer(['a.wrl', 'b.obj'])[0]
        >>> row['pred_class'], row['pred_score']
        ('happiness', 0.91)
    """

    preprocess_kwargs: set = set()
    forward_kwargs: set = set()
    visualize_kwargs: set = {'show_dir', 'show'}
    postprocess_kwargs: set = {'return_embeddings'}

    def __init__(self,
                 config: Union[str, Config],
                 checkpoint: Optional[str] = None,
                 device: str = 'cpu',
                 classes: Optional[Sequence[str]] = None,
                 show_progress: bool = False) -> None:
        cfg = Config.fromfile(config) if isinstance(config, str) else \
            copy.deepcopy(config)
        init_default_scope(cfg.get('default_scope', None) or 'mmfer4d')
        self._ckpt_meta = {}
        super().__init__(
            model=cfg,
            weights=checkpoint,
            device=device,
            scope=cfg.get('default_scope', None) or 'mmfer4d',
            show_progress=show_progress)
        self.device = device
        self.classes = list(classes) if classes is not None else \
            self._config_classes() or self._ckpt_meta.get('classes')
        self._seq_pipeline = None

    # Building (BaseInferencer hooks) ----------------------------------

    def _init_model(self, cfg: Config, weights: Optional[str],
                    device: str = 'cpu') -> torch.nn.Module:
        from mmfer4d.models.utils import build_model_from_cfg
        model = build_model_from_cfg(cfg)
        if weights is not None:
            ckpt = load_checkpoint(model, weights, map_location='cpu')
            self._ckpt_meta = (ckpt or {}).get('meta', {}).get(
                'dataset_meta') or {}
        return model.to(device).eval()

    def _init_pipeline(self, cfg: Config) -> Compose:
        self.cfg = cfg
        self._pipeline = self._test_pipeline()
        self.scan_pipeline = Compose(self._swap_loader(self._pipeline, False))
        return self.scan_pipeline

    def _init_collate(self, cfg: Config):
        return pseudo_collate

    def _init_visualizer(self, cfg: Config):
        # Pictures are drawn by :func:`save_views`, not a Visualizer.
        return None

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

    # Inference (BaseInferencer steps) ---------------------------------

    def __call__(self,
                 inputs: Union[InputType, List[InputType]],
                 return_datasamples: bool = False,
                 batch_size: int = 1,
                 **kwargs) -> List[dict]:
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
            return_datasamples (bool): Return the model's ``DataSample``
                of each input (None for a failed one) instead of rows.
                Defaults to False.
            batch_size (int): Inputs per forward. Defaults to 1.
            **kwargs: ``show_dir`` (str, optional: save the rendered views
                of each input with its prediction as PNG there),
                ``return_embeddings`` (bool: add the fused ``embedding``;
                defaults to False).

        Returns:
            list[dict]: One row per input, in order: ``input`` (the path or
            list of frame paths, as ``str``), ``pred_label`` (int),
            ``pred_score`` (float, the top score), ``pred_scores`` (list of
            float, one per class), ``pred_class`` (str), optionally
            ``embedding`` (list of float) and ``show_file`` (PNG path), and
            ``error``: None, or ``'{ExceptionType}: {message}'`` saying why
            this input has no prediction (then the prediction keys are
            None).
        """
        return super().__call__(inputs, return_datasamples, batch_size,
                                **kwargs)

    def _inputs_to_list(self, inputs) -> list:
        # A folder is one sequence (not a list of inputs, as mmengine
        # reads it), a bare path one input.
        if isinstance(inputs, (str, bytes, os.PathLike)):
            return [inputs]
        return list(inputs)

    def preprocess(self, inputs: list, batch_size: int = 1, **kwargs):
        """Run the test pipeline on every input, in chunks.

        Yields:
            list[tuple]: ``batch_size`` triples ``(input, data, error)``:
            the input as given, the packed sample (``inputs``
            ``(V, C, H, W)`` or ``(T, V, C, H, W)`` uint8,
            ``data_samples``) and None, or None and the error text.
        """
        chunk = []
        for item in inputs:
            try:
                chunk.append((item, self._prepare(_as_input(item)), None))
            except Exception as err:  # noqa: BLE001 - reported per input
                chunk.append((item, None, _error_text(err)))
            if len(chunk) == max(int(batch_size), 1):
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def forward(self, chunk: list, **kwargs) -> List[dict]:
        """``test_step`` on the prepared inputs of one chunk.

        A failing batch is rerun input by input, to find the bad ones.

        Returns:
            list[dict]: Per input: ``input`` (as given), ``data`` (packed
            sample or None),
            ``sample`` (the model's ``DataSample`` or None), ``error``.
        """
        preds = [dict(input=i, data=d, sample=None, error=e)
                 for i, d, e in chunk]
        ready = [p for p in preds if p['error'] is None]
        if ready:
            self._forward_ready(ready)
        return preds

    def _forward_ready(self, ready: list) -> None:
        try:
            with torch.no_grad():
                outputs = self.model.test_step(
                    self.collate_fn([p['data'] for p in ready]))
        except Exception as err:  # noqa: BLE001 - reported per input
            if len(ready) > 1:
                for one in ready:
                    self._forward_ready([one])
            else:
                ready[0]['error'] = _error_text(err)
            return
        for pred, sample in zip(ready, outputs):
            score = sample.pred_score.detach().float().cpu()
            if not torch.isfinite(score).all():
                pred['error'] = ('ValueError: the model gave non-finite '
                                 'scores for this input')
            else:
                pred['sample'] = sample

    def visualize(self,
                  inputs: list,
                  preds: List[dict],
                  show: bool = False,
                  show_dir: Optional[str] = None) -> List[Optional[dict]]:
        """Save the rendered views of each classified input with its
        prediction (see :func:`save_views`).

        Args:
            inputs (list): The inputs, as given.
            preds (list[dict]): From :meth:`forward`.
            show (bool): Unsupported (no window on a server); must be
                False. Defaults to False.
            show_dir (str, optional): Folder of the PNGs. Defaults to None
                (no pictures).

        Returns:
            list[dict | None]: Per input ``dict(show_file=...)`` or
            ``dict(show_error=...)``; None without ``show_dir``.

        Raises:
            ValueError: If ``show`` is True.
        """
        if show:
            raise ValueError('FERInferencer cannot open windows; give '
                             'show_dir to save the pictures')
        if show_dir is None:
            return [None] * len(preds)
        out = []
        for i, pred in enumerate(preds):
            if pred['sample'] is None:
                out.append(None)
                continue
            row = self._row(pred)
            try:
                out.append(dict(show_file=save_views(
                    pred['data']['inputs'], row, show_dir, i,
                    frame_inds=_frame_inds(pred), **_view_meta(pred))))
            except Exception as err:  # noqa: BLE001 - a picture only
                out.append(dict(show_error=_error_text(err)))
        return out

    def postprocess(self,
                    preds: List[dict],
                    visualization: List[Optional[dict]],
                    return_datasamples: bool = False,
                    return_embeddings: bool = False) -> list:
        """One JSON-friendly row per input (see :meth:`__call__`), or the
        ``DataSample`` of each (None where it failed)."""
        if return_datasamples:
            return [p['sample'] for p in preds]
        rows = []
        for i, pred in enumerate(preds):
            row = self._row(pred)
            if return_embeddings and pred['sample'] is not None and \
                    'embedding' in pred['sample']:
                row['embedding'] = pred['sample'].embedding.detach().float(
                ).cpu().reshape(-1).tolist()
            row.update(visualization[i] or {})
            rows.append(row)
        return rows

    def _row(self, pred: dict) -> dict:
        row = dict(input=_describe(pred['input']), pred_label=None,
                   pred_score=None, pred_scores=None, pred_class=None,
                   error=pred['error'])
        sample = pred['sample']
        if sample is None:
            return row
        score = sample.pred_score.detach().float().cpu()
        label = int(score.argmax())
        row.update(
            pred_label=label,
            pred_score=float(score[label]),
            pred_scores=score.tolist(),
            pred_class=self.classes[label]
            if self.classes and label < len(self.classes) else str(label))
        return row


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


def _frame_inds(pred: dict):
    """``frame_inds`` that the pipeline's ``SampleFrames`` wrote, or None."""
    for sample in (pred.get('sample'), (pred.get('data') or {}).get(
            'data_samples')):
        inds = None if sample is None else sample.get('frame_inds')
        if inds is not None:
            return [int(i) for i in np.asarray(inds).reshape(-1)]
    return None


def _view_meta(pred: dict) -> dict:
    """``modalities`` and ``view_names`` of a packed input, from the
    metainfo ``PackMultiViewInputs`` wrote (None when absent)."""
    from mmfer4d.visualization.multiview_grid import view_labels
    sample = (pred.get('data') or {}).get('data_samples')
    modalities = None if sample is None else sample.get('modalities')
    angles = None if sample is None else sample.get('view_angles')
    return dict(modalities=None if modalities is None else list(modalities),
                view_names=None if angles is None else view_labels(angles))


def shown_frame(result: dict, num_frames: int,
                frame_inds: Optional[Sequence[int]] = None) -> tuple:
    """Which frame of an input a picture shows, and its file.

    A scan is its own frame. Of a sequence the middle sampled frame is
    shown: position ``t = T // 2`` of the ``T`` sampled frames, which is
    frame ``frame_inds[t]`` of the input's list of frame paths.

    Args:
        result (dict): A row (``input``: a path or a list of frame paths).
        num_frames (int): ``T``, frames in the packed input (1 for a scan).
        frame_inds (Sequence[int], optional): ``(T,)`` indices into the
            input's frames (``SampleFrames``). Defaults to all frames.

    Returns:
        tuple: ``(t, path, title)``: the position in the packed input, the
        shown frame's file, and a title naming it (``'f012.obj (frame 12
        of 30)'`` for a sequence).
    """
    name = result['input']
    if isinstance(name, str):
        return 0, name, osp.basename(name)
    t = num_frames // 2
    index = int(frame_inds[t]) if frame_inds is not None and \
        len(frame_inds) > t else t
    path = name[index] if index < len(name) else name[-1]
    return t, path, (f'{osp.basename(path)} (frame {index + 1} of '
                     f'{len(name)})')


def draw_views(inputs: torch.Tensor,
               result: dict,
               frame_inds: Optional[Sequence[int]] = None,
               modalities: Optional[Sequence[str]] = None,
               view_names: Optional[Sequence[str]] = None):
    """A figure of the rendered views of one input with its prediction.

    One column per view, one row per modality
    (:func:`~mmfer4d.visualization.draw_multiview_grid`).

    Args:
        inputs (torch.Tensor): ``(V, C, H, W)`` or ``(T, V, C, H, W)``
            uint8: views, channels (the rendered modalities concatenated),
            height, width, and for a sequence frames first (the frame
            :func:`shown_frame` names is drawn).
        result (dict): A row with ``input``, ``pred_class`` and
            ``pred_score`` (top score, 0-1).
        frame_inds (Sequence[int], optional): See :func:`shown_frame`.
        modalities (Sequence[str], optional): The modalities in the
            channel axis (the samples' ``modalities`` metainfo). Defaults to
            None (grey for 1 channel, colour for 3, else channel by
            channel).
        view_names (Sequence[str], optional): Column titles. Defaults to
            ``view 0``, ``view 1``, ...

    Returns:
        matplotlib.figure.Figure: The title names the shown file and the
        prediction.
    """
    from mmfer4d.visualization.multiview_grid import draw_multiview_grid
    views = inputs.detach().cpu()
    num_frames = views.shape[0] if views.dim() == 5 else 1
    t, _, title = shown_frame(result, num_frames, frame_inds)
    if views.dim() == 5:
        views = views[t]
    conf = result.get('pred_score') or 0.0
    return draw_multiview_grid(
        views, modalities=modalities, view_names=view_names,
        title=f'{title}: {result["pred_class"]} ({100 * conf:.1f}%)',
        panel_size=2.2)


def save_views(inputs: torch.Tensor,
               result: dict,
               show_dir: str,
               index: int,
               frame_inds: Optional[Sequence[int]] = None,
               modalities: Optional[Sequence[str]] = None,
               view_names: Optional[Sequence[str]] = None) -> str:
    """Save :func:`draw_views` of one input as PNG.

    Args:
        inputs (torch.Tensor): See :func:`draw_views`.
        result (dict): See :func:`draw_views`.
        show_dir (str): Output folder (created).
        index (int): Input index, part of the file name.
        frame_inds, modalities, view_names: See :func:`draw_views`.

    Returns:
        str: The PNG path, ``{show_dir}/{index:04d}_{stem}.png`` with the
        stem of the shown file.
    """
    fig = draw_views(inputs, result, frame_inds, modalities, view_names)
    num_frames = inputs.shape[0] if inputs.dim() == 5 else 1
    _, path, _ = shown_frame(result, num_frames, frame_inds)
    os.makedirs(show_dir, exist_ok=True)
    stem = osp.basename(path)
    for ext in ('.gz', ) + tuple(MESH_EXTENSIONS):
        if stem.lower().endswith(ext):
            stem = stem[:-len(ext)]
    out = osp.join(show_dir, f'{index:04d}_{stem}.png')
    fig.savefig(out, bbox_inches='tight')
    return out
