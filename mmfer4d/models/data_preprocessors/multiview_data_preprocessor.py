# Copyright (c) mmfer4d contributors. All rights reserved.
"""Batching and normalisation of multi-view (and multi-frame) inputs."""
from numbers import Number
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseDataPreprocessor

from mmfer4d.registry import MODELS
# The renderer's table of channels per modality, so the two cannot drift.
from mmfer4d.rendering.modalities import MODALITY_CHANNELS

MeanStd = Tuple[Union[Number, Sequence[Number]], Union[Number,
                                                       Sequence[Number]]]


@MODELS.register_module()
class MultiViewDataPreprocessor(BaseDataPreprocessor):
    """Stack multi-view samples into a batch and normalise each channel.

    Inputs from :class:`PackMultiViewInputs` are uint8 tensors
    ``(V, C, H, W)`` (scans) or ``(T, V, C, H, W)`` (sequences). They are
    moved to the device, stacked into ``(N, V, C, H, W)`` /
    ``(N, T, V, C, H, W)`` (N = batch), cast to float32 and normalised per
    channel: ``(x - mean[c]) / std[c]``. Nothing is colour-converted:
    channels are rendered modalities, not BGR images.

    The per-channel statistics come either from ``mean`` / ``std`` (one
    value per channel) or from ``modality_mean_std``, resolved with the
    ``modalities`` tuple that :class:`RenderMultiView` records in each
    sample's metainfo (or the ``modalities`` argument): e.g.
    ``dict(depth=([127.5], [127.5]), normal=([127.5] * 3, [127.5] * 3))``
    with ``modalities=('depth', 'normal')`` gives 4-channel statistics.
    A scalar stands for all channels of its modality. With neither, the
    inputs are only cast to float.

    Args:
        mean (Sequence[float], optional): Per-channel mean. Defaults to None.
        std (Sequence[float], optional): Per-channel std. Defaults to None.
        modality_mean_std (dict, optional): ``{modality: (mean, std)}``.
            Defaults to None.
        modalities (Sequence[str], optional): The rendered modalities, in
            :class:`RenderMultiView`'s order: the statistics when the data
            samples do not say, and :attr:`num_channels` (the model's input
            channels). Samples rendered otherwise are an error.
            Defaults to None.
        non_blocking (bool): Non-blocking host-to-device copies.
            Defaults to False.

    Raises:
        ValueError: If both ``mean``/``std`` and ``modality_mean_std`` are
            given, only one of ``mean``/``std``, an unknown modality, a
            statistics length not matching the channels, samples of
            different shapes or modalities in one batch, or samples
            rendered with other modalities than ``modalities``.
    """

    def __init__(self,
                 mean: Optional[Sequence[Number]] = None,
                 std: Optional[Sequence[Number]] = None,
                 modality_mean_std: Optional[Dict[str, MeanStd]] = None,
                 modalities: Optional[Sequence[str]] = None,
                 non_blocking: bool = False):
        super().__init__(non_blocking=non_blocking)
        if (mean is None) != (std is None):
            raise ValueError('give both mean and std, or neither')
        if mean is not None and modality_mean_std is not None:
            raise ValueError('give mean/std or modality_mean_std, not both')
        self.modality_mean_std = None if modality_mean_std is None else {
            name: self._check_modality(name, ms)
            for name, ms in modality_mean_std.items()
        }
        self.modalities = None if modalities is None else tuple(modalities)
        unknown = [m for m in self.modalities or ()
                   if m not in MODALITY_CHANNELS]
        if unknown:
            raise ValueError(f'unknown modalities {unknown}; known: '
                             f'{sorted(MODALITY_CHANNELS)}')
        if mean is not None:
            mean_t = torch.as_tensor(mean, dtype=torch.float32).flatten()
            std_t = torch.as_tensor(std, dtype=torch.float32).flatten()
            if mean_t.shape != std_t.shape:
                raise ValueError(f'mean has {mean_t.numel()} values, std '
                                 f'{std_t.numel()}')
            self.register_buffer('mean', mean_t.view(-1, 1, 1), False)
            self.register_buffer('std', std_t.view(-1, 1, 1), False)
        else:
            self.mean = self.std = None
        if self.mean is not None and self.modalities is not None and \
                self.mean.shape[0] != self.num_channels:
            raise ValueError(f'mean/std have {self.mean.shape[0]} values but '
                             f'modalities {self.modalities} have '
                             f'{self.num_channels} channels')
        self._cache = {}

    @property
    def num_channels(self) -> Optional[int]:
        """Channels ``C`` of the inputs, when known before any batch.

        The sum of :data:`MODALITY_CHANNELS` over ``modalities``, else the
        length of ``mean``, else None. Models read it to build their
        backbone for the rendered modalities.
        """
        if self.modalities is not None:
            return sum(MODALITY_CHANNELS[m] for m in self.modalities)
        if self.mean is not None:
            return int(self.mean.shape[0])
        return None

    @staticmethod
    def _check_modality(name, mean_std) -> Tuple[list, list]:
        if name not in MODALITY_CHANNELS:
            raise ValueError(f'unknown modality {name!r} in '
                             f'modality_mean_std; known: '
                             f'{sorted(MODALITY_CHANNELS)}')
        channels = MODALITY_CHANNELS[name]
        out = []
        for what, value in zip(('mean', 'std'), mean_std):
            values = [float(value)] * channels if isinstance(
                value, Number) else [float(x) for x in value]
            if len(values) != channels:
                raise ValueError(f'{what} of modality {name!r} needs '
                                 f'{channels} values, got {len(values)}')
            out.append(values)
        if len(out) != 2:
            raise ValueError(f'modality_mean_std[{name!r}] must be '
                             '(mean, std)')
        return out[0], out[1]

    def _stats(self, data_samples, channels: int):
        """Per-channel ``(C, 1, 1)`` mean and std, or (None, None)."""
        if self.mean is not None:
            mean, std = self.mean, self.std
        elif self.modality_mean_std is not None:
            modalities = self.modalities
            if data_samples:
                found = {
                    tuple(s.metainfo['modalities'])
                    for s in data_samples if 'modalities' in s.metainfo
                }
                if len(found) > 1:
                    raise ValueError('one batch mixes modalities '
                                     f'{sorted(found)}')
                if found:
                    rendered = found.pop()
                    if modalities is not None and rendered != modalities:
                        raise ValueError(
                            f'the data preprocessor was built for '
                            f'modalities {modalities} but the samples are '
                            f'rendered as {rendered}: set the same '
                            '`modalities` in both')
                    modalities = rendered
            if modalities is None:
                raise ValueError(
                    'modality_mean_std needs the modalities of the inputs: '
                    "in the samples' metainfo (RenderMultiView records "
                    'them) or as the modalities argument')
            if modalities not in self._cache:
                missing = [
                    m for m in modalities if m not in self.modality_mean_std
                ]
                if missing:
                    raise ValueError(f'modality_mean_std has no entry for '
                                     f'{missing} (inputs: {modalities})')
                mean = sum((self.modality_mean_std[m][0] for m in modalities),
                           [])
                std = sum((self.modality_mean_std[m][1] for m in modalities),
                          [])
                self._cache[modalities] = (torch.tensor(mean).view(-1, 1, 1),
                                           torch.tensor(std).view(-1, 1, 1))
            mean, std = self._cache[modalities]
        else:
            return None, None
        if mean.shape[0] != channels:
            raise ValueError(f'normalisation has {mean.shape[0]} channels, '
                             f'the inputs {channels}')
        return mean.to(self.device), std.to(self.device)

    def forward(self, data: dict, training: bool = False) -> dict:
        """Stack, cast and normalise a batch.

        Args:
            data (dict): ``{'inputs': list of (V, C, H, W) / (T, V, C, H, W)
                tensors or one stacked tensor, 'data_samples': list}``, as
                ``pseudo_collate`` (or ``default_collate``) gives.
            training (bool): Unused (no batch augmentation). Defaults to
                False.

        Returns:
            dict: ``{'inputs': (N, V, C, H, W) or (N, T, V, C, H, W)
            float32 tensor, 'data_samples': the samples on the device}``.
        """
        data = self.cast_data(data)
        inputs = data['inputs']
        if not isinstance(inputs, torch.Tensor):
            shapes = {tuple(x.shape) for x in inputs}
            if len(shapes) > 1:
                raise ValueError('samples of one batch differ in shape: '
                                 f'{sorted(shapes)}')
            inputs = torch.stack(list(inputs))
        if inputs.dim() not in (5, 6):
            raise ValueError('inputs must batch to (N, V, C, H, W) or '
                             f'(N, T, V, C, H, W), got {tuple(inputs.shape)}')
        inputs = inputs.float()
        data_samples = data.get('data_samples')
        mean, std = self._stats(data_samples, inputs.shape[-3])
        if mean is not None:
            inputs = (inputs - mean) / std
        return {'inputs': inputs, 'data_samples': data_samples}
