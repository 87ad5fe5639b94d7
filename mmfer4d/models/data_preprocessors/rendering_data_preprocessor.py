# Copyright (c) mmfer4d contributors. All rights reserved.
"""Rendering in the data preprocessor: all views of a batch on the model's
device."""
from numbers import Number
from typing import Dict, Optional, Sequence

import numpy as np
import torch

from mmfer4d.registry import MODELS
from mmfer4d.rendering.multiview_renderer import MultiViewRenderer
from mmfer4d.structures.mesh import Mesh
from .multiview_data_preprocessor import MeanStd, MultiViewDataPreprocessor

# RenderMultiView options that make no sense here.
_PIPELINE_ONLY = ('cache', )


@MODELS.register_module()
class RenderingDataPreprocessor(MultiViewDataPreprocessor):
    """Render the meshes of a batch, then normalise as
    :class:`MultiViewDataPreprocessor`.

    The pipeline ends in :class:`~mmfer4d.datasets.transforms.
    PackMeshInputs` (normalised, augmented meshes instead of images); this
    preprocessor renders every view of the batch in one
    :meth:`~mmfer4d.rendering.MultiViewRenderer.render_batch` call, by
    default with the ``'torch'`` backend on the model's device (CUDA when
    the model is there), so data loader workers no longer rasterise. The
    ``(N, V, H, W, C)`` uint8 renders become ``(N, V, C, H, W)`` float32
    inputs normalised per channel (``mean`` / ``std`` or
    ``modality_mean_std``), the same values the pipeline path gives; the
    data samples get the ``modalities``, ``view_angles`` and ``img_shape``
    metainfo that ``RenderMultiView`` records.

    Landmarks are not projected by default (``project_landmarks=False`` in
    ``render``: it needs the depth on the CPU); set it to True to get the
    ``landmarks_2d`` / ``landmarks_2d_visible`` data fields.

    Args:
        render (dict): :class:`~mmfer4d.rendering.MultiViewRenderer`
            arguments: those of a ``RenderMultiView`` step (its ``type`` is
            ignored, so a config can pass its ``render`` dict), e.g.
            ``dict(views=('front', 'left', 'right'), size=96,
            modalities=('normal', ))``. ``backend`` defaults to
            ``'torch'``; the torch backend's ``device`` follows the model
            and it returns tensors, unless ``backend_args`` says otherwise.
            ``RenderMultiView``'s defaults apply (``size`` 112).
        mean, std, modality_mean_std, non_blocking: As
            :class:`MultiViewDataPreprocessor`.
        modalities (Sequence[str], optional): As
            :class:`MultiViewDataPreprocessor`; defaults to (and must
            equal) ``render``'s modalities.

    Raises:
        ValueError: If ``render`` has a pipeline-only option (``cache``)
            or other ``modalities`` than ``modalities``; at forward, if the
            inputs are not meshes, or a mesh cannot be rendered or renders
            blank (the renderer's errors, naming the file).
    """

    def __init__(self,
                 render: dict,
                 mean: Optional[Sequence[Number]] = None,
                 std: Optional[Sequence[Number]] = None,
                 modality_mean_std: Optional[Dict[str, MeanStd]] = None,
                 modalities: Optional[Sequence[str]] = None,
                 non_blocking: bool = False):
        render = dict(render)
        render.pop('type', None)
        bad = [k for k in _PIPELINE_ONLY if k in render]
        if bad:
            raise ValueError(f'RenderingDataPreprocessor: {bad} only work '
                             f'in the RenderMultiView pipeline step')
        render.setdefault('size', 112)
        render.setdefault('project_landmarks', False)
        render.setdefault('backend', 'torch')
        if render['backend'] == 'torch':
            args = dict(render.get('backend_args') or {})
            self._follow_device = 'device' not in args
            args.setdefault('device', 'cpu')
            args.setdefault('return_tensors', True)
            render['backend_args'] = args
        else:
            self._follow_device = False
        renderer = MultiViewRenderer(**render)
        if modalities is None:
            modalities = renderer.modalities
        elif tuple(modalities) != renderer.modalities:
            raise ValueError(f'modalities {tuple(modalities)} differ from the '
                             f'rendered ones {renderer.modalities}')
        super().__init__(
            mean=mean,
            std=std,
            modality_mean_std=modality_mean_std,
            modalities=modalities,
            non_blocking=non_blocking)
        self.renderer = renderer

    def render(self, meshes: Sequence[Mesh]) -> torch.Tensor:
        """``(N, V, C, H, W)`` uint8 renders of N meshes on the device.

        Raises:
            ValueError: If an input is not a :class:`Mesh`, or as
                :meth:`MultiViewRenderer.render_batch`.
        """
        bad = sorted({type(m).__name__ for m in meshes
                      if not isinstance(m, Mesh)})
        if bad:
            raise ValueError(f'RenderingDataPreprocessor renders meshes '
                             f'(PackMeshInputs), got {bad}')
        if self._follow_device:
            self.renderer.backend.device = self.device
        out = self.renderer.render_batch(list(meshes))
        images = out.images
        if isinstance(images, np.ndarray):
            images = torch.from_numpy(images)
        images = images.to(self.device, non_blocking=self._non_blocking)
        self._landmarks = (out.landmarks_2d, out.landmarks_visible)
        return images.permute(0, 1, 4, 2, 3).contiguous()

    def forward(self, data: dict, training: bool = False) -> dict:
        """Render, stack, cast and normalise a batch.

        Args:
            data (dict): ``{'inputs': list of N Mesh, 'data_samples': list
                of N DataSample}`` (``PackMeshInputs`` + a collate).
            training (bool): Unused. Defaults to False.

        Returns:
            dict: ``{'inputs': (N, V, C, H, W) float32 on the device,
            'data_samples': the samples on the device}``.
        """
        images = self.render(data['inputs'])
        samples = data.get('data_samples')
        r = self.renderer
        meta = dict(
            modalities=r.modalities,
            view_angles=[tuple(a) for a in r.view_angles.tolist()],
            img_shape=r.size)
        for b, sample in enumerate(samples or ()):
            sample.set_metainfo(meta)
            lm, vis = self._landmarks[0][b], self._landmarks[1][b]
            if lm is not None:
                sample.set_field(torch.from_numpy(lm), 'landmarks_2d',
                                 field_type='data')
                sample.set_field(torch.from_numpy(vis),
                                 'landmarks_2d_visible', field_type='data')
        return super().forward(
            dict(inputs=images, data_samples=samples), training)
