# Copyright (c) mmfer4d contributors. All rights reserved.
"""Packing of rendered views into model inputs and a DataSample."""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmpretrain.structures import DataSample

from mmfer4d.registry import TRANSFORMS


def stack_views(img) -> torch.Tensor:
    """Stack views (and frames) into a channels-first uint8 tensor.

    Args:
        img (list | np.ndarray): A list of V ``(H, W, C)`` (or ``(H, W)``)
            uint8 arrays, a list of T such lists, or one ``(H, W, C)``
            array (V = 1).

    Returns:
        torch.Tensor: ``(V, C, H, W)`` or ``(T, V, C, H, W)`` uint8.

    Raises:
        TypeError: If a view is not a uint8 array.
        ValueError: If views differ in shape or frames in view count.
    """
    if isinstance(img, np.ndarray):
        img = [img]
    if not isinstance(img, (list, tuple)) or not img:
        raise TypeError(f'img must be a non-empty list of views, got '
                        f'{type(img).__name__}')
    is_seq = isinstance(img[0], (list, tuple))
    frames = [list(f) for f in img] if is_seq else [list(img)]
    views = []
    for frame in frames:
        if len(frame) != len(frames[0]):
            raise ValueError('every frame must have the same number of '
                             f'views, got {[len(f) for f in frames]}')
        for view in frame:
            if not isinstance(view, np.ndarray) or view.dtype != np.uint8:
                kind = view.dtype if isinstance(view, np.ndarray) \
                    else type(view).__name__
                raise TypeError(f'views must be uint8 (H, W, C) arrays, got '
                                f'{kind}')
            views.append(view[..., None] if view.ndim == 2 else view)
    shapes = {v.shape for v in views}
    if len(shapes) > 1:
        raise ValueError(f'views differ in shape: {sorted(shapes)}')
    arr = np.stack(views)  # (T*V, H, W, C)
    tensor = torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous()
    if is_seq:
        tensor = tensor.view(len(frames), len(frames[0]), *tensor.shape[1:])
    return tensor


@TRANSFORMS.register_module()
class PackMultiViewInputs(BaseTransform):
    """Pack rendered views and labels for the model.

    **Required Keys:**

    - img: list of V ``(H, W, C)`` uint8 views, or T lists of V.
    - gt_label (optional)
    - au_labels (optional, ``(A,)`` 0/1)
    - au_intensities (optional, ``(A,)`` 0..5)
    - landmarks_2d, landmarks_2d_visible (optional, from
      :class:`RenderMultiView`: ``(V, L, 2)`` pixel coordinates and
      ``(V, L)`` visibility per view, or T of each for a sequence)
    - ``*meta_keys`` (those present)

    **Deleted Keys:**

    All other keys in the dict.

    **Added Keys:**

    - inputs (torch.Tensor): ``(V, C, H, W)`` uint8 for a scan,
      ``(T, V, C, H, W)`` for a sequence (batch, views, channels, height,
      width; T frames).
    - data_samples (:obj:`~mmpretrain.structures.DataSample`): with
      ``gt_label``; ``gt_au`` (float ``(A,)``) and ``gt_au_intensity``
      (float ``(A,)``) data fields when the sample has AU labels;
      ``landmarks_2d`` (float32 ``(V, L, 2)`` or ``(T, V, L, 2)``) and
      ``landmarks_2d_visible`` (bool ``(V, L)`` or ``(T, V, L)``) data
      fields when the views came with landmarks; and the present
      ``meta_keys`` as metainfo.

    Args:
        meta_keys (Sequence[str]): Keys copied into the metainfo when
            present. Defaults to :attr:`DEFAULT_META_KEYS`.
        algorithm_keys (Sequence[str]): Further keys stored as data fields
            when present. Defaults to ().

    Raises:
        KeyError: If ``img`` is missing.
    """

    DEFAULT_META_KEYS = ('sample_idx', 'subject', 'intensity', 'expression',
                         'view_angles', 'modalities', 'frame_inds',
                         'img_shape', 'mesh_path')

    def __init__(self,
                 meta_keys: Sequence[str] = DEFAULT_META_KEYS,
                 algorithm_keys: Sequence[str] = ()):
        self.meta_keys = tuple(meta_keys)
        self.algorithm_keys = tuple(algorithm_keys)

    def transform(self, results: dict) -> dict:
        if 'img' not in results:
            raise KeyError('PackMultiViewInputs needs results["img"]; put '
                           'RenderMultiView before it (keys: '
                           f'{sorted(results)})')
        return dict(
            inputs=stack_views(results['img']),
            data_samples=self.data_sample(results))

    def data_sample(self, results: dict) -> DataSample:
        """The labels, landmarks, algorithm keys and metainfo of
        ``results`` as a :class:`DataSample`."""
        data_sample = DataSample()
        if 'gt_label' in results:
            data_sample.set_gt_label(results['gt_label'])
        if results.get('au_labels') is not None:
            data_sample.set_field(
                torch.as_tensor(
                    np.asarray(results['au_labels']), dtype=torch.float32),
                'gt_au',
                field_type='data')
        if results.get('au_intensities') is not None:
            data_sample.set_field(
                torch.as_tensor(
                    np.asarray(results['au_intensities']),
                    dtype=torch.float32),
                'gt_au_intensity',
                field_type='data')
        for key, dtype in (('landmarks_2d', torch.float32),
                           ('landmarks_2d_visible', torch.bool)):
            if results.get(key) is not None:
                data_sample.set_field(
                    torch.as_tensor(np.asarray(results[key]), dtype=dtype),
                    key,
                    field_type='data')
        for key in self.algorithm_keys:
            if key in results:
                data_sample.set_field(results[key], key)
        for key in self.meta_keys:
            if key in results:
                data_sample.set_field(results[key], key, field_type='metainfo')
        return data_sample

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(meta_keys={self.meta_keys}, '
                f'algorithm_keys={self.algorithm_keys})')


@TRANSFORMS.register_module()
class PackMeshInputs(PackMultiViewInputs):
    """Pack the mesh itself, for rendering on the training device.

    The counterpart of :class:`PackMultiViewInputs` for a pipeline without
    :class:`RenderMultiView`: ``inputs`` is the (normalised, augmented)
    :class:`~mmfer4d.structures.Mesh`, and
    :class:`~mmfer4d.models.data_preprocessors.RenderingDataPreprocessor`
    renders the views of the whole batch in one call (the ``'torch'``
    backend on the model's device). Collate with mmengine's
    ``pseudo_collate`` (or ``skip_broken_collate`` with
    ``collate='pseudo_collate'``), which keeps a batch of meshes as a list
    (``default_collate`` refuses objects it cannot stack).

    **Required Keys:**

    - mesh (:class:`~mmfer4d.structures.Mesh`): one scan (sequences are
      rendered in the pipeline: ``RenderMultiView`` + ``PackMultiViewInputs``)
    - gt_label, au_labels, au_intensities (optional), ``*meta_keys``

    **Deleted Keys:**

    All other keys in the dict.

    **Added Keys:**

    - inputs (:class:`~mmfer4d.structures.Mesh`): the mesh.
    - data_samples (:obj:`~mmpretrain.structures.DataSample`): as
      :class:`PackMultiViewInputs` (the preprocessor adds ``modalities``,
      ``view_angles`` and ``img_shape`` to the metainfo when it renders).

    Args:
        meta_keys (Sequence[str]): As :class:`PackMultiViewInputs`.
        algorithm_keys (Sequence[str]): As :class:`PackMultiViewInputs`.

    Raises:
        KeyError: If ``mesh`` is missing (a sequence, ``meshes``, is
            named in the message).
        TypeError: If ``mesh`` is not a :class:`Mesh`.
    """

    def transform(self, results: dict) -> dict:
        from mmfer4d.structures.mesh import Mesh
        if 'mesh' not in results:
            hint = (' (sequences: render them in the pipeline with '
                    'RenderMultiView + PackMultiViewInputs)'
                    if 'meshes' in results else '')
            raise KeyError(f'PackMeshInputs needs results["mesh"]{hint}; '
                           f'keys: {sorted(results)}')
        mesh = results['mesh']
        if not isinstance(mesh, Mesh):
            raise TypeError(f'PackMeshInputs needs a Mesh in '
                            f'results["mesh"], got {type(mesh).__name__}')
        return dict(inputs=mesh, data_samples=self.data_sample(results))
