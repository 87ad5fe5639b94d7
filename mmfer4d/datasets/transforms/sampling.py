# Copyright (c) mmfer4d contributors. All rights reserved.
"""Choice of the frames of a 4D sequence that a sample uses."""
import numpy as np
from mmcv.transforms import BaseTransform

from mmfer4d.registry import TRANSFORMS

SAMPLE_MODES = ('uniform', 'onset_apex', 'onset_offset', 'apex', 'key_frames')


@TRANSFORMS.register_module()
class SampleFrames(BaseTransform):
    """Pick T frame indices of a 4D sequence.

    Modes (``n`` frames, indices ``0 .. n-1``):

    - ``'uniform'``: the sequence is cut into T equal segments; one frame
      per segment, at a random position at train time and at the segment's
      middle at test time (TSN-style segment sampling).
    - ``'onset_apex'``: the same over ``[onset_frame, apex_frame]``; at
      test time T evenly spaced frames that include both ends. This is the
      rising part of an expression.
    - ``'onset_offset'``: as ``'onset_apex'`` over
      ``[onset_frame, offset_frame]``.
    - ``'apex'``: T frames spaced by ``stride`` forming a window that
      contains ``apex_frame``: centred on it at test time, at a random
      position in the window (the apex always on the grid) at train time.
      Indices past either end are clipped, i.e. the end frames repeat.
    - ``'key_frames'``: the onset frame, ``T - 2`` frames of an apex
      window (spaced by ``stride``, centred on ``apex_frame``) and the
      offset frame, in that order (``T >= 3``); with ``T = 2`` the onset
      and apex frames. The onset and offset frames are the neutral
      references of the sequence (the face before and after the
      movement) that :class:`~mmfer4d.models.DifferenceTemporalFusion`
      subtracts from the apex. At train time each reference moves up to
      ``jitter`` frames outwards (into the neutral lead-in / lead-out) and
      the apex window shifts by up to ``jitter`` frames either way; at
      test time the annotated frames are taken as they are.

    When the span is shorter than T, frames repeat (indices stay sorted),
    so every sample has exactly T frames. Missing annotations default to
    ``onset_frame=0``, ``offset_frame=n-1`` and ``apex_frame=(n-1)//2``
    (data sets without apex labels, such as BU-4DFE, peak around the
    middle). Random numbers come from numpy's global generator.

    **Required Keys:**

    - num_frames (int), or frame_paths (its length is used)
    - onset_frame, apex_frame, offset_frame (optional, int)
    - frame_au_labels (optional, ``(n, A)``: per-frame AU labels, e.g.
      BP4D's occurrence codes)

    **Added Keys:**

    - frame_inds (np.ndarray): ``(T,)`` int64, sorted (``'key_frames'``:
      onset, apex window, offset), in ``[0, n)``.
    - au_labels (np.ndarray): ``(T, A)``, the rows of ``frame_au_labels``
      of the chosen frames (only when ``frame_au_labels`` is present), so
      that every sampled frame keeps its own AU labels.

    Args:
        num_frames (int): T, the number of frames to pick. Defaults to 8.
        mode (str): One of :data:`SAMPLE_MODES`. Defaults to ``'uniform'``.
        test_mode (bool): Deterministic choice when True. Defaults to False.
        stride (int): Spacing in frames of the ``'apex'`` and
            ``'key_frames'`` windows. Defaults to 1.
        jitter (int): Largest train-time shift, in frames, of the
            ``'key_frames'`` choice. Defaults to 0.

    Raises:
        ValueError: On an unknown mode, T < 1 (T < 2 for
            ``'key_frames'``), ``jitter < 0``, an empty sequence, or
            onset/apex/offset outside the sequence or out of order.
        KeyError: If neither ``num_frames`` nor ``frame_paths`` is present.
    """

    def __init__(self,
                 num_frames: int = 8,
                 mode: str = 'uniform',
                 test_mode: bool = False,
                 stride: int = 1,
                 jitter: int = 0):
        if mode not in SAMPLE_MODES:
            raise ValueError(f'mode must be one of {SAMPLE_MODES}, got '
                             f'{mode!r}')
        if num_frames < 1:
            raise ValueError(f'num_frames must be >= 1, got {num_frames}')
        if stride < 1:
            raise ValueError(f'stride must be >= 1, got {stride}')
        if mode == 'key_frames' and num_frames < 2:
            raise ValueError("mode 'key_frames' needs num_frames >= 2 (onset "
                             f'and apex), got {num_frames}')
        if jitter < 0:
            raise ValueError(f'jitter must be >= 0, got {jitter}')
        self.jitter = int(jitter)
        self.num_frames = int(num_frames)
        self.mode = mode
        self.test_mode = test_mode
        self.stride = int(stride)

    def _segments(self, start: int, stop: int) -> np.ndarray:
        """T indices in ``[start, stop]`` (inclusive), one per segment."""
        span = stop - start + 1
        t = self.num_frames
        edges = np.arange(t + 1, dtype=np.float64) * span / t
        if self.test_mode:
            if self.mode == 'uniform':
                pos = (edges[:-1] + edges[1:]) / 2
            else:
                # Even spacing that includes both ends (onset and apex).
                pos = np.linspace(0, span - 1, t) + 0.5
        else:
            pos = np.random.uniform(edges[:-1], edges[1:])
        inds = start + np.clip(np.floor(pos), 0, span - 1).astype(np.int64)
        return np.sort(inds)

    def _apex_window(self, apex: int, n: int) -> np.ndarray:
        t = self.num_frames
        k = t // 2 if self.test_mode else np.random.randint(t)
        inds = apex + self.stride * (np.arange(t, dtype=np.int64) - k)
        return np.clip(inds, 0, n - 1)

    def _key_frames(self, onset: int, apex: int, offset: int,
                    n: int) -> np.ndarray:
        t = self.num_frames
        j = 0 if self.test_mode else self.jitter
        if j:
            onset = onset - np.random.randint(j + 1)
            offset = offset + np.random.randint(j + 1)
            apex = apex + np.random.randint(-j, j + 1)
        apex_count = max(t - 2, 1)
        k = (apex_count - 1) // 2
        window = apex + self.stride * (
            np.arange(apex_count, dtype=np.int64) - k)
        # The window stays between the references, so indices stay sorted.
        window = np.clip(window, onset, offset)
        inds = [onset, *window] + ([offset] if t > 2 else [])
        return np.clip(np.asarray(inds, dtype=np.int64), 0, n - 1)

    def transform(self, results: dict) -> dict:
        if 'num_frames' in results:
            n = int(results['num_frames'])
        elif 'frame_paths' in results:
            n = len(results['frame_paths'])
        else:
            raise KeyError("SampleFrames needs results['num_frames'] or "
                           f"results['frame_paths'] (keys: {sorted(results)})")
        name = results.get('sample_idx', results.get('subject', '?'))
        if n < 1:
            raise ValueError(f'sample {name}: empty sequence')

        def marker(key, default):
            value = results.get(key)
            value = default if value is None else int(value)
            if not 0 <= value < n:
                raise ValueError(f'sample {name}: {key}={value} outside the '
                                 f'{n} frames of the sequence')
            return value

        onset = marker('onset_frame', 0)
        apex = marker('apex_frame', (n - 1) // 2)
        offset = marker('offset_frame', n - 1)
        if self.mode == 'uniform':
            inds = self._segments(0, n - 1)
        elif self.mode == 'onset_apex':
            if apex < onset:
                raise ValueError(f'sample {name}: apex_frame={apex} before '
                                 f'onset_frame={onset}')
            inds = self._segments(onset, apex)
        elif self.mode == 'onset_offset':
            if offset < onset:
                raise ValueError(f'sample {name}: offset_frame={offset} '
                                 f'before onset_frame={onset}')
            inds = self._segments(onset, offset)
        elif self.mode == 'key_frames':
            if not onset <= apex <= offset:
                raise ValueError(
                    f'sample {name}: key frames out of order: onset_frame='
                    f'{onset}, apex_frame={apex}, offset_frame={offset}')
            inds = self._key_frames(onset, apex, offset, n)
        else:
            inds = self._apex_window(apex, n)
        results['frame_inds'] = inds.astype(np.int64)
        if results.get('frame_au_labels') is not None:
            labels = np.asarray(results['frame_au_labels'])
            if labels.shape[0] != n:
                raise ValueError(f'sample {name}: frame_au_labels has '
                                 f'{labels.shape[0]} rows for {n} frames')
            results['au_labels'] = labels[results['frame_inds']]
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_frames={self.num_frames}, '
                f'mode={self.mode!r}, test_mode={self.test_mode}, '
                f'stride={self.stride}, jitter={self.jitter})')
