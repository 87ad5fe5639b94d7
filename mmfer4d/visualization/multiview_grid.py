# Copyright (c) mmfer4d contributors. All rights reserved.
"""A picture of the rendered views of one multi-view sample.

The packed model input of a scan is ``(V, C, H, W)`` and of a sequence
``(T, V, C, H, W)``; its C channels are the rendered modalities
concatenated in order (``RenderMultiView``). The grid shows one column per
view and one row per modality (per shown frame for sequences), each
modality as an image: depth, shading and mask in grey, normal and rgb in
colour.
"""
import os
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from mmfer4d.rendering.cameras import NAMED_VIEWS
from mmfer4d.rendering.modalities import MODALITY_CHANNELS


def split_modalities(image: np.ndarray,
                     modalities: Optional[Sequence[str]] = None
                     ) -> List[Tuple[str, np.ndarray]]:
    """Split the channels of one view into one displayable image per
    modality.

    Args:
        image (np.ndarray): ``(C, H, W)`` one view, channels first.
        modalities (Sequence[str], optional): Names of the concatenated
            modalities (``'depth'`` 1 channel, ``'normal'`` 3, ``'rgb'`` 3,
            ``'shading'`` 1, ``'mask'`` 1), as in the data sample's
            ``modalities`` metainfo. Defaults to None: a 1-channel image is
            ``'grey'``, a 3-channel one ``'rgb'``, any other channel count
            is shown channel by channel (``'ch0'``, ``'ch1'``, ...).

    Returns:
        list[tuple[str, np.ndarray]]: ``(name, picture)`` per modality, the
        picture ``(H, W)`` (grey) or ``(H, W, 3)`` (colour), same dtype as
        ``image``.

    Raises:
        ValueError: If ``image`` is not 3-D, a modality is unknown, or the
            channel counts of the modalities do not add up to C.
    """
    image = np.asarray(image)
    if image.ndim != 3:
        raise ValueError(f'a view must be (C, H, W), got shape {image.shape}')
    num_channels = image.shape[0]
    if modalities is None:
        if num_channels == 1:
            return [('grey', image[0])]
        if num_channels == 3:
            return [('rgb', np.transpose(image, (1, 2, 0)))]
        return [(f'ch{c}', image[c]) for c in range(num_channels)]
    unknown = [m for m in modalities if m not in MODALITY_CHANNELS]
    if unknown:
        raise ValueError(f'unknown modalities {unknown}; known: '
                         f'{sorted(MODALITY_CHANNELS)}')
    expected = sum(MODALITY_CHANNELS[m] for m in modalities)
    if expected != num_channels:
        raise ValueError(
            f'modalities {tuple(modalities)} have {expected} channels but '
            f'the view has {num_channels}')
    out, start = [], 0
    for name in modalities:
        count = MODALITY_CHANNELS[name]
        part = image[start:start + count]
        out.append((name, part[0] if count == 1 else np.transpose(
            part, (1, 2, 0))))
        start += count
    return out


def view_labels(view_angles: Sequence[Sequence[float]]) -> List[str]:
    """Column titles of views from their camera angles.

    Args:
        view_angles (Sequence[Sequence[float]]): ``(yaw, pitch, roll)`` in
            degrees per view, as ``RenderMultiView`` writes
            ``results['view_angles']``.

    Returns:
        list[str]: The view's name where the angles are a named view's
        (``'left (yaw 45)'``), else the angles (``'yaw 30, pitch 10'``).
    """
    names = {tuple(float(a) for a in angles): name
             for name, angles in NAMED_VIEWS.items()}
    labels = []
    for angles in view_angles:
        yaw, pitch, roll = (list(map(float, angles)) + [0.0, 0.0])[:3]
        text = f'yaw {yaw:g}' + (f', pitch {pitch:g}' if pitch else '') + (
            f', roll {roll:g}' if roll else '')
        name = names.get((yaw, pitch, roll))
        labels.append(f'{name} ({text})' if name else text)
    return labels


def _to_uint8(views: np.ndarray) -> np.ndarray:
    """Min-max scale non-uint8 inputs (e.g. normalised floats) for display."""
    if views.dtype == np.uint8:
        return views
    views = views.astype(np.float64)
    low, high = float(views.min()), float(views.max())
    scale = 255.0 / (high - low) if high > low else 0.0
    return ((views - low) * scale).round().astype(np.uint8)


def draw_multiview_grid(inputs,
                        modalities: Optional[Sequence[str]] = None,
                        view_names: Optional[Sequence[str]] = None,
                        title: Optional[str] = None,
                        title_color: str = 'black',
                        max_frames: int = 4,
                        panel_size: float = 1.6) -> Figure:
    """Draw the views of one sample as a grid (views x modalities).

    Args:
        inputs (torch.Tensor | np.ndarray): ``(C, H, W)`` (one view),
            ``(V, C, H, W)`` (a scan) or ``(T, V, C, H, W)`` (a sequence),
            uint8 as packed by ``PackMultiViewInputs``; other dtypes are
            min-max scaled to 0-255 for display.
        modalities (Sequence[str], optional): Modalities in the channel
            axis, see :func:`split_modalities`. Defaults to None.
        view_names (Sequence[str], optional): Column titles, one per view.
            Defaults to ``view 0``, ``view 1``, ...
        title (str, optional): Figure title. Defaults to None.
        title_color (str): Colour of the title. Defaults to 'black'.
        max_frames (int): For sequences, at most this many frames are
            shown, evenly spaced from the first to the last. Defaults to 4.
        panel_size (float): Size of one panel, inches. Defaults to 1.6.

    Returns:
        matplotlib.figure.Figure: The figure, on an Agg canvas (no pyplot,
        works headless).

    Raises:
        ValueError: If ``inputs`` has another number of axes, or the
            modalities do not match the channels (:func:`split_modalities`).
    """
    if isinstance(inputs, torch.Tensor):
        inputs = inputs.detach().cpu().numpy()
    views = _to_uint8(np.asarray(inputs))
    if views.ndim == 3:
        views = views[None]
    if views.ndim == 4:
        frames = [(None, views)]
    elif views.ndim == 5:
        count = min(max(int(max_frames), 1), views.shape[0])
        picks = np.unique(
            np.linspace(0, views.shape[0] - 1, count).round().astype(int))
        frames = [(int(t), views[t]) for t in picks]
    else:
        raise ValueError('inputs must be (C, H, W), (V, C, H, W) or '
                         f'(T, V, C, H, W), got shape {views.shape}')
    num_views = frames[0][1].shape[0]
    if view_names is None or len(view_names) != num_views:
        view_names = [f'view {v}' for v in range(num_views)]
    # rows[r][v] = (row label, picture)
    rows = []
    for t, frame in frames:
        per_view = [split_modalities(frame[v], modalities)
                    for v in range(num_views)]
        for m, (name, _) in enumerate(per_view[0]):
            label = name if t is None else f't={t} {name}'
            rows.append([(label, per_view[v][m][1])
                         for v in range(num_views)])
    fig = Figure(figsize=(panel_size * num_views + 0.4,
                          panel_size * len(rows) + (0.6 if title else 0.2)),
                 dpi=100)
    FigureCanvasAgg(fig)
    for r, row in enumerate(rows):
        for v, (label, picture) in enumerate(row):
            ax = fig.add_subplot(len(rows), num_views, r * num_views + v + 1)
            if picture.ndim == 2:
                ax.imshow(picture, cmap='gray', vmin=0, vmax=255)
            else:
                ax.imshow(picture)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(str(view_names[v]), fontsize=8)
            if v == 0:
                ax.set_ylabel(label, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9, color=title_color)
    return fig


def figure_to_array(fig: Figure) -> np.ndarray:
    """The pixels of a figure drawn on an Agg canvas.

    Args:
        fig (Figure): A figure with an Agg canvas (as from
            :func:`draw_multiview_grid`).

    Returns:
        np.ndarray: ``(H, W, 3)`` uint8 RGB.
    """
    canvas = fig.canvas
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def save_figure(fig: Figure, out_file: str) -> str:
    """Save a figure as PNG, creating the folder.

    Args:
        fig (Figure): The figure.
        out_file (str): PNG path.

    Returns:
        str: ``out_file``.
    """
    if osp.dirname(out_file):
        os.makedirs(osp.dirname(out_file), exist_ok=True)
    fig.savefig(out_file, bbox_inches='tight')
    return out_file


def sample_grid(results: dict, pad: int = 2) -> np.ndarray:
    """One uint8 picture of a rendered sample, without axes or labels.

    Rows are frames (one row for a scan), columns are view x modality
    tiles in render order; 1-channel modalities are shown in grey.

    Args:
        results (dict): ``RenderMultiView`` output: ``img`` (a list of V
            ``(H, W, C)`` uint8 views, or a list of T such lists) and
            ``modalities``.
        pad (int): Separator width in px. Defaults to 2.

    Returns:
        np.ndarray: ``(H', W', 3)`` uint8.
    """
    imgs = results['img']
    frames = imgs if isinstance(imgs[0], list) else [imgs]
    rows = []
    for views in frames:
        tiles = []
        for view in views:
            c = 0
            for m in results['modalities']:
                n = MODALITY_CHANNELS[m]
                part = view[..., c:c + n]
                tiles.append(np.repeat(part, 3, -1) if n == 1 else part)
                c += n
        h = tiles[0].shape[0]
        sep = np.full((h, pad, 3), 64, np.uint8)
        rows.append(np.concatenate(
            [x for t in tiles for x in (t, sep)][:-1], 1))
    w = rows[0].shape[1]
    sep = np.full((pad, w, 3), 64, np.uint8)
    return np.concatenate([x for r in rows for x in (r, sep)][:-1], 0)
