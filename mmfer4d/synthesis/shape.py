# Copyright (c) mmfer4d contributors. All rights reserved.
"""Shape synthesis from parameters: the dense model product, head pose and
scanner noise (the skin texture is made by :mod:`.texture`).

Parameters (``synth_params``) of one scan, all plain numpy / Python values:

- ``identity``: ``(I,)`` float32 identity weights, ~ N(0, 1).
- ``blendshapes``: ``(E,)`` float32 blendshape weights in [0, 1], in the
  order of :data:`~mmfer4d.synthesis.facs.BLENDSHAPE_NAMES`.
- ``pose``: ``(3,)`` float32 head rotation (yaw, pitch, roll) in degrees,
  about the model origin (inside the head), in the convention of
  :mod:`mmfer4d.structures.geometry`.
- ``translation``: ``(3,)`` float32 mm, optional (defaults to zero).
- ``noise_std``: float, std of isotropic Gaussian scanner noise in mm.
- ``noise_seed``: int, seed of that noise.
- ``texture_seed``: int, seed of the subject's albedo texture.

A sequence holds the same keys except that ``blendshapes`` is the apex
``(E,)``, ``envelope`` ``(T,)`` float32 in [0, 1] gives the activation of
each frame (frame weights = ``envelope[t] * blendshapes``), and ``pose`` is
``(T, 3)``; frame t uses noise seed ``noise_seed + t``.
"""
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import numpy as np

from mmfer4d.structures import Mesh, rotation_matrix
from .face_model import FaceModel, load_face_model
from .facs import BLENDSHAPE_NAMES
from .texture import skin_texture

_NAME_MAPS: Dict[tuple, np.ndarray] = {}


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
        rot = rotation_matrix(*pose[:3]).astype(np.float32)
        verts = verts @ rot.T
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
