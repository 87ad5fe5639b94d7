# Copyright (c) mmfer4d contributors. All rights reserved.
"""A procedural skin-albedo texture per synthetic subject."""
import functools
from typing import Dict, Optional

import numpy as np

from .face_model import FaceModel, load_face_model


def _smooth_noise(rng, size, cells):
    """Bilinearly upsampled uniform noise in [-1, 1], ``(size, size)``."""
    grid = rng.uniform(-1, 1, (cells + 1, cells + 1))
    x = np.linspace(0, cells, size)
    i = np.minimum(x.astype(int), cells - 1)
    f = x - i
    rows = grid[i] * (1 - f)[:, None] + grid[i + 1] * f[:, None]
    return rows[:, i] * (1 - f) + rows[:, i + 1] * f


def _blur(img, passes=2):
    for _ in range(passes):
        pad = np.pad(img, 1, mode='edge')
        img = (pad[:-2, 1:-1] + pad[2:, 1:-1] + pad[1:-1, :-2] +
               pad[1:-1, 2:] + pad[1:-1, 1:-1]) / 5.0
    return img


def _polygon_mask(poly_uv, size):
    from matplotlib.path import Path
    centres = (np.arange(size) + 0.5) / size
    u, v = np.meshgrid(centres, 1.0 - centres)
    pts = np.stack([u.ravel(), v.ravel()], 1)
    return Path(poly_uv).contains_points(pts).reshape(size, size).astype(
        np.float32)


def _polyline_mask(line_uv, size, width):
    centres = (np.arange(size) + 0.5) / size
    u, v = np.meshgrid(centres, 1.0 - centres)
    pts = np.stack([u, v], -1)
    dist = np.full((size, size), np.inf)
    for a, b in zip(line_uv[:-1], line_uv[1:]):
        ab = b - a
        t = np.clip(((pts - a) @ ab) / max(float(ab @ ab), 1e-12), 0, 1)
        d = np.linalg.norm(pts - (a + t[..., None] * ab), axis=-1)
        dist = np.minimum(dist, d)
    return np.clip(1.5 - dist / width, 0, 1).astype(np.float32)


@functools.lru_cache(maxsize=128)
def _skin_texture_cached(seed: int, model_key: str, size: int,
                         model_id: int) -> np.ndarray:
    model = _MODEL_REFS[model_id]
    rng = np.random.default_rng([int(seed), 0x5EED])
    uv = model.uv
    lm = model.landmarks68
    # Albedo between a light and a dark skin tone; a chromatic jitter keeps
    # subjects of one tone apart.
    tone = rng.uniform(0.0, 1.0)
    light = np.array([232.0, 192.0, 168.0])
    dark = np.array([96.0, 62.0, 44.0])
    base = light * (1 - tone) + dark * tone
    base *= 1.0 + rng.normal(0, 0.03, 3)
    img = np.ones((size, size, 3)) * base
    img *= (1.0 + 0.06 * _smooth_noise(rng, size, 6))[..., None]
    img *= (1.0 + 0.02 * rng.uniform(-1, 1, (size, size)))[..., None]
    if len(lm) >= 68:
        # Cheek redness (haemoglobin) below the eyes.
        cheeks = np.zeros((size, size))
        centres = (np.arange(size) + 0.5) / size
        u, v = np.meshgrid(centres, 1.0 - centres)
        for idx in (3, 13):
            c = (uv[lm[idx]] + uv[lm[30]]) / 2
            cheeks += np.exp(-((u - c[0])**2 + (v - c[1])**2) / 0.004)
        red = rng.uniform(0.05, 0.12)
        img *= 1.0 + red * cheeks[..., None] * np.array([0.6, -0.4, -0.4])
        # Lips (outer contour 48-59), redder and darker.
        lips = _blur(_polygon_mask(uv[lm[48:60]], size))
        lip_col = base * np.array([0.85, 0.55, 0.6])
        img = img * (1 - lips[..., None]) + lip_col * lips[..., None]
        # Eyebrows (17-21, 22-26): hair colour.
        hair = np.array([50.0, 36.0, 28.0]) * rng.uniform(0.6, 1.6)
        for a, b in ((17, 22), (22, 27)):
            brow = _blur(_polyline_mask(uv[lm[a:b]], size, 0.012)) * 0.8
            img = img * (1 - brow[..., None]) + hair * brow[..., None]
    # The closed openings: the eye fans show sclera, iris and pupil; the
    # mouth fan a dark oral cavity.
    iris = np.array([70.0, 50.0, 35.0]) * rng.uniform(0.6, 1.8)
    for name, loop in model.hole_loops.items():
        poly = uv[loop]
        mask = _polygon_mask(poly, size)
        if name == 'mouth':
            col = np.ones((size, size, 3)) * np.array([95.0, 35.0, 40.0])
        else:
            centre = poly.mean(0)
            radius = 0.45 * np.ptp(poly[:, 1])
            centres = (np.arange(size) + 0.5) / size
            u, v = np.meshgrid(centres, 1.0 - centres)
            d = np.sqrt((u - centre[0])**2 + (v - centre[1])**2)
            col = np.ones((size, size, 3)) * np.array([225.0, 220.0, 212.0])
            col[d < radius] = iris
            col[d < 0.45 * radius] = (15.0, 12.0, 12.0)
        img = img * (1 - mask[..., None]) + col * mask[..., None]
    out = np.clip(img, 0, 255).astype(np.uint8)
    out.setflags(write=False)
    return out


_MODEL_REFS: Dict[int, FaceModel] = {}


def skin_texture(seed: int,
                 model: Optional[FaceModel] = None,
                 size: int = 256) -> np.ndarray:
    """A procedural skin-albedo texture, deterministic from a subject seed.

    Skin tone between a light and a dark albedo, low-frequency blotches,
    fine pore noise, cheek redness, lips and eyebrows placed with the
    landmarks' UVs, and eyes (sclera, iris, pupil) and a dark oral cavity
    painted inside the UV polygons of the filled openings. Cached per
    process (128 textures).

    Args:
        seed (int): Subject texture seed.
        model (FaceModel, optional): Defaults to :func:`load_face_model`.
        size (int): Side in pixels. Defaults to 256.

    Returns:
        np.ndarray: ``(size, size, 3)`` uint8 RGB, row 0 at the top (``v =
        1``), read-only.
    """
    if model is None:
        model = load_face_model()
    _MODEL_REFS[id(model)] = model
    return _skin_texture_cached(int(seed), model.path, int(size), id(model))
