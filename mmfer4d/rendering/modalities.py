# Copyright (c) mmfer4d contributors. All rights reserved.
"""What a rendered view holds: modality names, channels, order, background.

Shared by the renderer, its backends, the data preprocessor and the
visualisation. This module imports numpy only (no numba), so models and
plots can use it on a machine that never renders.
"""
from typing import Dict, Sequence, Tuple

#: The renderable modalities, in the order of :data:`MODALITY_CHANNELS`.
MODALITIES: Tuple[str, ...] = ('depth', 'normal', 'rgb', 'shading', 'mask')

#: Channels of each modality in the packed uint8 output. A render's channels
#: are its modalities' channels concatenated in the order the modalities
#: were asked for (``RenderMultiView(modalities=...)``).
MODALITY_CHANNELS: Dict[str, int] = {
    'depth': 1,  # 8-bit normalised depth, near = bright (255), far = 1
    'normal': 3,  # camera-frame normal x, y, z: [-1, 1] -> [0, 255]
    'rgb': 3,  # texture (bilinear) or vertex colour, else grey shading
    'shading': 1,  # Lambertian grey
    'mask': 1,  # foreground 255
}

#: Value of every channel of a background pixel (no surface there).
BACKGROUND_VALUE: int = 0


def check_modalities(modalities: Sequence[str]) -> Tuple[str, ...]:
    """Validate a modality list.

    Args:
        modalities (str | Sequence[str]): One modality or several, from
            :data:`MODALITIES`.

    Returns:
        tuple[str]: The modalities, in the given order.

    Raises:
        ValueError: If none is given, one is unknown or one repeats.
    """
    if isinstance(modalities, str):
        modalities = (modalities, )
    modalities = tuple(modalities)
    if not modalities:
        raise ValueError('at least one modality is needed')
    for m in modalities:
        if m not in MODALITY_CHANNELS:
            raise ValueError(f'unknown modality {m!r}; choose from '
                             f'{MODALITIES}')
    if len(set(modalities)) != len(modalities):
        raise ValueError(f'repeated modality in {modalities}')
    return modalities


def channel_offsets(modalities: Sequence[str]) -> Dict[str, int]:
    """First channel of each modality in a render of ``modalities``.

    Args:
        modalities (Sequence[str]): Validated modalities, in channel order.

    Returns:
        dict[str, int]: ``{modality: first channel}``; the modality spans
        ``MODALITY_CHANNELS[modality]`` channels from there.
    """
    offsets, offset = {}, 0
    for m in modalities:
        offsets[m] = offset
        offset += MODALITY_CHANNELS[m]
    return offsets


def num_channels(modalities: Sequence[str]) -> int:
    """Total channels ``C`` of a render of ``modalities``."""
    return sum(MODALITY_CHANNELS[m] for m in modalities)
