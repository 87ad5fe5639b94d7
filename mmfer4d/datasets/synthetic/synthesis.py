# Copyright (c) mmfer4d contributors. All rights reserved.
"""Synthesis of meshes from parameters: the dense model product, head pose,
scanner noise, and a procedural skin-albedo texture per subject.

Parameters (``synth_params``) of one scan, all plain numpy / Python values:

- ``identity``: ``(I,)`` float32 identity weights, ~ N(0, 1).
- ``blendshapes``: ``(E,)`` float32 blendshape weights in [0, 1], in the
  order of :data:`~mmfer4d.datasets.synthetic.facs.BLENDSHAPE_NAMES`.
- ``pose``: ``(3,)`` float32 head rotation (yaw, pitch, roll) in degrees,
  about the model origin (inside the head).
- ``translation``: ``(3,)`` float32 mm, optional (defaults to zero).
- ``noise_std``: float, std of isotropic Gaussian scanner noise in mm.
- ``noise_seed``: int, seed of that noise.
- ``texture_seed``: int, seed of the subject's albedo texture.

A sequence holds the same keys except that ``blendshapes`` is the apex
``(E,)``, ``envelope`` ``(T,)`` float32 in [0, 1] gives the activation of
each frame (frame weights = ``envelope[t] * blendshapes``), and ``pose`` is
``(T, 3)``; frame t uses noise seed ``noise_seed + t``.
"""
import functools
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import numpy as np

from mmfer4d.structures import Mesh
from .face_model import FaceModel, load_face_model
from .facs import BLENDSHAPE_NAMES

_NAME_MAPS: Dict[tuple, np.ndarray] = {}


def rotation_matrix(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Rotation ``R = R_z(roll) @ R_x(pitch) @ R_y(yaw)``.

    Args:
        yaw (float): About +y (turning the head), degrees.
        pitch (float): About +x (nodding), degrees.
        roll (float): About +z (tilting), degrees.

    Returns:
        np.ndarray: ``(3, 3)`` float32.
    """
    y, p, r = np.deg2rad([yaw, pitch, roll])
    cy, sy, cp, sp, cr, sr = (np.cos(y), np.sin(y), np.cos(p), np.sin(p),
                              np.cos(r), np.sin(r))
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return (rz @ rx @ ry).astype(np.float32)


def _blendshape_map(model: FaceModel) -> Optional[np.ndarray]:
    """Index of each model blendshape in BLENDSHAPE_NAMES (None if equal)."""
    names = tuple(model.expression_names)
    if names == BLENDSHAPE_NAMES:
        return None
    key = names
    if key not in _NAME_MAPS:
        canon = {n: i for i, n in enumerate(BLENDSHAPE_NAMES)}
        _NAME_MAPS[key] = np.array([canon.get(n, -1) for n in names])
    return _NAME_MAPS[key]


def _fit(vec, length):
    vec = np.asarray(vec, np.float32).ravel()
    if vec.shape[0] == length:
        return vec
    out = np.zeros(length, np.float32)
    k = min(length, vec.shape[0])
    out[:k] = vec[:k]
    return out


def model_coefficients(params: dict, model: FaceModel) -> np.ndarray:
    """The stacked ``(I + E,)`` float32 weights of ``model.basis``.

    Identity weights beyond the model's modes are dropped (missing ones are
    zero); blendshapes are matched by name.
    """
    ident = _fit(params['identity'], model.num_identity)
    shapes = np.asarray(params['blendshapes'], np.float32)
    mapping = _blendshape_map(model)
    if mapping is None:
        shapes = _fit(shapes, model.num_expressions)
    else:
        shapes = np.where(mapping >= 0, shapes[np.maximum(mapping, 0)],
                          0).astype(np.float32)
    return np.concatenate([ident, shapes])


_IDENTITY_CACHE: "OrderedDict[tuple, np.ndarray]" = OrderedDict()
_IDENTITY_CACHE_SIZE = 256


def identity_shape(model: FaceModel, identity: np.ndarray) -> np.ndarray:
    """The neutral face of one identity, ``vertices + w_id @ B_id``.

    Cached per process (256 identities, about 0.1 MB each), since every
    scan of a subject shares it.

    Args:
        model (FaceModel): The face model.
        identity (np.ndarray): ``(I,)`` float32 identity weights.

    Returns:
        np.ndarray: ``(N, 3)`` float32 mm, read-only.
    """
    identity = np.ascontiguousarray(identity, np.float32)
    key = (id(model), identity.tobytes())
    shape = _IDENTITY_CACHE.get(key)
    if shape is not None:
        _IDENTITY_CACHE.move_to_end(key)
        return shape
    shape = (identity @ model.basis[:model.num_identity]).reshape(-1, 3)
    shape += model.vertices
    shape.setflags(write=False)
    _IDENTITY_CACHE[key] = shape
    if len(_IDENTITY_CACHE) > _IDENTITY_CACHE_SIZE:
        _IDENTITY_CACHE.popitem(last=False)
    return shape


def synthesize(params: dict,
               model: Optional[FaceModel] = None,
               with_texture: bool = True,
               texture_size: int = 256) -> Mesh:
    """Synthesise one scan: ``vertices + w_id @ B_id + w_exp @ B_exp``, then
    head pose and scanner noise.

    The linear model is the blendshape model of ICT-FaceKit (Li et al.,
    CVPR 2020): a dense float32 product with the identity basis (cached
    per subject by :func:`identity_shape`) plus one with the rows of the
    active blendshapes.

    Args:
        params (dict): See the module docstring.
        model (FaceModel, optional): Defaults to :func:`load_face_model`
            with ``params.get('face_model')`` as path.
        with_texture (bool): Attach the subject's albedo texture and
            ``face_uvs``. Defaults to True.
        texture_size (int): Texture side in pixels. Defaults to 256.

    Returns:
        Mesh: ``vertices`` ``(N, 3)`` float32 mm, ``faces``, ``face_uvs``,
        ``texture`` ``(S, S, 3)`` uint8, ``landmarks`` ``(68, 3)`` (the
        Multi-PIE 68 points, after pose and noise), ``metainfo`` with
        ``'synthetic': True`` and ``'landmark_names': 'multipie68'``.

    Raises:
        KeyError: If a required parameter is missing.
    """
    if model is None:
        model = load_face_model(params.get('face_model'))
    coeffs = model_coefficients(params, model)
    num_id = model.num_identity
    verts = identity_shape(model, coeffs[:num_id]).copy()
    # Only the active blendshapes (a handful per expression) are summed.
    active = np.flatnonzero(coeffs[num_id:]) + num_id
    if active.size:
        verts += (coeffs[active] @ model.basis[active]).reshape(-1, 3)
    pose = np.asarray(params.get('pose', (0, 0, 0)), np.float32).ravel()
    if np.any(pose):
        verts = verts @ rotation_matrix(*pose[:3]).T
    trans = params.get('translation')
    if trans is not None:
        verts += np.asarray(trans, np.float32)
    std = float(params.get('noise_std', 0.0))
    if std > 0:
        rng = np.random.default_rng(int(params.get('noise_seed', 0)))
        noise = rng.standard_normal(verts.shape, dtype=np.float32)
        noise *= std
        verts += noise
    texture = face_uvs = None
    if with_texture:
        face_uvs = model.face_uvs
        texture = skin_texture(
            int(params.get('texture_seed', 0)), model, size=texture_size)
    return Mesh(
        vertices=verts,
        faces=model.faces,
        face_uvs=face_uvs,
        texture=texture,
        landmarks=verts[model.landmarks68],
        metainfo=dict(synthetic=True, landmark_names='multipie68'))


def frame_params(params: dict, t: int) -> dict:
    """The single-scan parameters of frame ``t`` of a sequence.

    Raises:
        IndexError: If ``t`` is outside ``[0, T)``.
    """
    envelope = np.asarray(params['envelope'], np.float32)
    if not 0 <= t < envelope.shape[0]:
        raise IndexError(f'frame {t} outside [0, {envelope.shape[0]})')
    pose = np.asarray(params['pose'], np.float32)
    out = dict(params)
    out.pop('envelope')
    out['blendshapes'] = np.asarray(params['blendshapes'],
                                    np.float32) * envelope[t]
    out['pose'] = pose[t] if pose.ndim == 2 else pose
    if pose.ndim == 2 and 'translation' in params and np.ndim(
            params['translation']) == 2:
        out['translation'] = np.asarray(params['translation'])[t]
    out['noise_seed'] = int(params.get('noise_seed', 0)) + int(t)
    return out


def synthesize_sequence(params: dict,
                        frame_inds: Optional[Sequence[int]] = None,
                        model: Optional[FaceModel] = None,
                        **kwargs) -> List[Mesh]:
    """Synthesise the frames ``frame_inds`` of a sequence.

    Args:
        params (dict): Sequence parameters (see the module docstring).
        frame_inds (Sequence[int], optional): Frames to make. Defaults to
            all ``T``.
        model (FaceModel, optional): Defaults to :func:`load_face_model`.
        **kwargs: Passed to :func:`synthesize`.

    Returns:
        list[Mesh]: One mesh per requested frame (they share ``faces``,
        ``face_uvs`` and ``texture``).
    """
    if model is None:
        model = load_face_model(params.get('face_model'))
    if frame_inds is None:
        frame_inds = range(len(params['envelope']))
    return [
        synthesize(frame_params(params, int(t)), model, **kwargs)
        for t in frame_inds
    ]


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
