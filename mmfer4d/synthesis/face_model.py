# Copyright (c) mmfer4d contributors. All rights reserved.
"""The ICT-FaceKit morphable face model, packed as one npz, with its eyes
(and mouth) closed the way a structured-light scanner sees them.

The model (Li et al., "Learning Formation of Physically-Based Face Attributes",
CVPR 2020; github.com/ICT-VGL/ICT-FaceKit, MIT) is linear:

    ``vertices + w_id @ identity_basis + w_exp @ expression_basis``

with ``w_id ~ N(0, 1)`` over 100 identity modes and ``w_exp`` in [0, 1] over
53 ARKit-style blendshapes. The packed model ships with the package
(``data/ict_facekit/`` here, with its MIT LICENSE and an attribution
README); ``tools/dataset_converters/ict_facekit_to_npz.py`` builds it from a
clone of ICT-FaceKit.
"""
import os
import os.path as osp
import threading
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

#: Environment variable naming another npz; an explicit path wins over it.
FACE_MODEL_ENV = 'MMFER4D_ICT_FACE_MODEL'
#: The packed model shipped with the package (MIT; its LICENSE and README
#: lie beside it), used when neither an explicit path nor the environment
#: variable names one.
PACKAGED_FACE_MODEL = osp.join(
    osp.dirname(osp.abspath(__file__)), 'data', 'ict_facekit',
    'ict_face_model.npz')
#: Keys every packed face model holds (see the converter).
FACE_MODEL_KEYS = ('vertices', 'faces', 'uv', 'identity_basis',
                   'expression_basis', 'expression_names', 'landmarks68',
                   'source')

_HOW_TO_BUILD = (
    'A packed model is built from a clone of '
    'https://github.com/ICT-VGL/ICT-FaceKit (MIT license) with:\n'
    '    python tools/dataset_converters/ict_facekit_to_npz.py '
    '/path/to/ICT-FaceKit --out OUT.npz\n'
    '(it reads FaceXModel/*.obj and FaceXModel/vertex_indices.json, keeps '
    'the full face area, vertices 0..9408, splits quads into triangles and '
    'converts cm to mm).')


def resolve_face_model_path(path: Optional[str] = None) -> str:
    """Find the face model npz.

    One place is looked at, the first of: ``path`` when given (a data set's
    or transform's ``face_model``); the environment variable
    ``MMFER4D_ICT_FACE_MODEL`` when set and not empty; the model shipped
    with the package (:data:`PACKAGED_FACE_MODEL`). An override that names
    a missing file is an error, never a silent fall-back to the shipped
    model.

    Args:
        path (str, optional): Explicit path (``~`` is expanded). Defaults
            to None.

    Returns:
        str: Absolute path of an existing file.

    Raises:
        FileNotFoundError: If the chosen file does not exist; the message
            names it, what chose it, and how to build a model.
    """
    env = os.environ.get(FACE_MODEL_ENV)
    if path is not None:
        cand, origin = osp.expanduser(str(path)), 'face_model='
    elif env:
        cand, origin = osp.expanduser(env), \
            f'the environment variable {FACE_MODEL_ENV}'
    else:
        cand, origin = PACKAGED_FACE_MODEL, 'the mmfer4d package data'
    if osp.isfile(cand):
        return osp.abspath(cand)
    if cand == PACKAGED_FACE_MODEL:
        hint = ('The installation is incomplete: reinstall mmfer4d, or '
                f'build a model and point {FACE_MODEL_ENV} at it. ')
    else:
        hint = ('Fix the path, or leave it unset to use the model shipped '
                'with mmfer4d. ')
    raise FileNotFoundError(
        f'ICT-FaceKit face model npz not found: {cand} (named by '
        f'{origin}). {hint}{_HOW_TO_BUILD}')


def boundary_loops(faces: np.ndarray) -> List[np.ndarray]:
    """Closed boundary loops of a manifold triangle mesh.

    Each loop follows the direction of its boundary half-edges (the
    direction they have in their one triangle), so a fan ``(loop[i+1],
    loop[i], centre)`` has the orientation of the surrounding surface.

    Args:
        faces (np.ndarray): ``(F, 3)`` int vertex indices.

    Returns:
        list[np.ndarray]: One ``(K,)`` int64 vertex index array per loop,
        longest first.

    Raises:
        ValueError: If a boundary vertex has several outgoing boundary
            edges (a non-manifold boundary; loops would be ambiguous).
    """
    faces = np.asarray(faces, dtype=np.int64)
    if faces.size == 0:
        return []
    half = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]],
                           faces[:, [2, 0]]])
    key = np.sort(half, axis=1)
    _, inverse, counts = np.unique(
        key, axis=0, return_inverse=True, return_counts=True)
    border = half[counts[inverse.ravel()] == 1]
    nxt: Dict[int, int] = {}
    for a, b in border.tolist():
        if a in nxt:
            raise ValueError(f'non-manifold boundary at vertex {a}')
        nxt[a] = b
    loops, seen = [], set()
    for start in nxt:
        if start in seen:
            continue
        loop, cur = [], start
        while cur not in seen:
            seen.add(cur)
            loop.append(cur)
            cur = nxt.get(cur)
            if cur is None:
                raise ValueError('open boundary chain (not a loop)')
        loops.append(np.asarray(loop, dtype=np.int64))
    loops.sort(key=len, reverse=True)
    return loops


@dataclass
class FaceModel:
    """A linear face model with hole-filled topology, ready to synthesise.

    Built by :func:`load_face_model`; arrays are read-only and shared by
    every mesh made from it. Coordinates are in mm, +y up, +z towards the
    viewer; ``_L`` blendshapes act on the subject's left (+x).

    Attributes:
        vertices (np.ndarray): ``(N, 3)`` float32 neutral mean face, mm,
            including the added hole-centre vertices.
        faces (np.ndarray): ``(F, 3)`` int32 triangles, with the fill fans.
        uv (np.ndarray): ``(N, 2)`` float32 texture coordinates, origin
            bottom-left.
        face_uvs (np.ndarray): ``(F, 3, 2)`` float32, ``uv[faces]``.
        identity_basis (np.ndarray): ``(I, N, 3)`` float32, mm per unit
            weight (weights ~ N(0, 1)).
        expression_basis (np.ndarray): ``(E, N, 3)`` float32, mm at weight 1.
        basis (np.ndarray): ``(I + E, N * 3)`` float32, both bases stacked
            for one dense product.
        expression_names (tuple[str]): The E blendshape names.
        landmarks68 (np.ndarray): ``(68,)`` int64 vertex indices of the
            Multi-PIE 68 landmarks.
        hole_centres (dict): ``{'eye_left'|'eye_right'|'mouth': vertex
            index}`` of the fill-fan centres that were added.
        hole_loops (dict): ``{name: (K,) int64}`` the boundary loop each
            centre closes.
        num_model_vertices (int): Vertices of the packed model before the
            hole centres were appended.
        path (str): The npz it came from.
    """

    vertices: np.ndarray
    faces: np.ndarray
    uv: np.ndarray
    face_uvs: np.ndarray
    identity_basis: np.ndarray
    expression_basis: np.ndarray
    basis: np.ndarray
    expression_names: Tuple[str, ...]
    landmarks68: np.ndarray
    hole_centres: Dict[str, int] = field(default_factory=dict)
    hole_loops: Dict[str, np.ndarray] = field(default_factory=dict)
    num_model_vertices: int = 0
    path: str = ''

    @property
    def num_vertices(self) -> int:
        return int(self.vertices.shape[0])

    @property
    def num_identity(self) -> int:
        return int(self.identity_basis.shape[0])

    @property
    def num_expressions(self) -> int:
        return int(self.expression_basis.shape[0])

    def expression_index(self, name: str) -> int:
        """Index of a blendshape by name.

        Raises:
            KeyError: If the model has no blendshape of that name.
        """
        try:
            return self.expression_names.index(name)
        except ValueError:
            raise KeyError(f'{self.path}: no blendshape named {name!r}; it '
                           f'has {list(self.expression_names)}') from None


def _classify_loops(loops: Sequence[np.ndarray], vertices: np.ndarray,
                    landmarks68: np.ndarray) -> Dict[str, np.ndarray]:
    """Name the inner boundary loops (eyes, mouth) by their landmarks.

    The outer boundary is the longest loop (by perimeter) and is never
    filled. Every other loop is matched to the nearest of three landmark
    groups: the right eye (68-point indices 36-41, subject's right = -x),
    the left eye (42-47) and the inner lips (60-67), if its centroid lies
    within 15 mm of that group's centroid.
    """
    if len(loops) < 2 or len(landmarks68) < 68:
        return {}
    perim = [
        np.linalg.norm(vertices[lp] - vertices[np.roll(lp, -1)], axis=1).sum()
        for lp in loops
    ]
    outer = int(np.argmax(perim))
    groups = dict(
        eye_right=vertices[landmarks68[36:42]].mean(0),
        eye_left=vertices[landmarks68[42:48]].mean(0),
        mouth=vertices[landmarks68[60:68]].mean(0))
    named = {}
    for i, lp in enumerate(loops):
        if i == outer:
            continue
        centre = vertices[lp].mean(0)
        dist = {k: np.linalg.norm(centre - g) for k, g in groups.items()}
        best = min(dist, key=dist.get)
        if dist[best] < 15.0 and best not in named:
            named[best] = lp
    return named


def _fill_holes(vertices, faces, uv, id_basis, exp_basis, loops,
                mouth_depth):
    """Append one centre vertex per loop and a triangle fan to it.

    The centre's bases are the mean of its loop's bases, so it follows
    blinks, jaw opening and identity changes; the mouth centre is pushed
    back by ``mouth_depth`` mm (-z) to form a shallow oral cavity.
    """
    centres = {}
    new_v, new_uv, new_id, new_exp, new_f = [], [], [], [], []
    n = vertices.shape[0]
    for name in ('eye_right', 'eye_left', 'mouth'):
        if name not in loops:
            continue
        lp = loops[name]
        c = n + len(new_v)
        centre = vertices[lp].mean(0)
        if name == 'mouth':
            centre = centre - np.array([0, 0, mouth_depth], np.float32)
        new_v.append(centre)
        new_uv.append(uv[lp].mean(0))
        new_id.append(id_basis[:, lp].mean(1))
        new_exp.append(exp_basis[:, lp].mean(1))
        nxt = np.roll(lp, -1)
        new_f.append(np.stack([nxt, lp, np.full_like(lp, c)], axis=1))
        centres[name] = c
    if not new_v:
        return vertices, faces, uv, id_basis, exp_basis, centres
    vertices = np.concatenate([vertices, np.stack(new_v)]).astype(np.float32)
    uv = np.concatenate([uv, np.stack(new_uv)]).astype(np.float32)
    id_basis = np.concatenate([id_basis, np.stack(new_id, 1)], axis=1)
    exp_basis = np.concatenate([exp_basis, np.stack(new_exp, 1)], axis=1)
    faces = np.concatenate([faces] + new_f).astype(np.int32)
    return vertices, faces, uv, id_basis, exp_basis, centres


_CACHE: Dict[tuple, FaceModel] = {}
_LOCK = threading.Lock()


def load_face_model(path: Optional[str] = None,
                    close_eyes: bool = True,
                    close_mouth: bool = True,
                    mouth_depth: float = 12.0) -> FaceModel:
    """Load (once per process) the packed ICT-FaceKit model.

    The npz's float16 bases are converted to float32 once and cached per
    process, keyed by the resolved path and the hole options.

    Hole filling (why): a structured-light scanner (BU-3DFE's 3DMD,
    BU-4DFE's Di3D) records the eyes, open or closed, as a surface, never as
    a hole, so an open eye socket would be a cue no real scan has. Each eye
    loop is closed with a fan to a centre vertex at the loop's mean. The
    inner-lip loop is closed too, but with its centre pushed back by
    ``mouth_depth`` mm: with the lips together the fan lies hidden behind
    them, and when the jaw opens (its centre follows the mean of the lip
    bases) it shows as a recessed cavity, as scanners record the teeth and
    tongue behind open lips, rather than as a hole to the background. The
    mouth can still open: no vertex ties the lips together.

    Args:
        path (str, optional): Explicit npz path. Defaults to None (the
            environment variable, else the shipped model; see
            :func:`resolve_face_model_path`).
        close_eyes (bool): Fill the two eye openings. Defaults to True.
        close_mouth (bool): Fill the mouth opening with a recessed fan.
            Defaults to True.
        mouth_depth (float): How far (mm, along -z) the mouth-fan centre
            lies behind the inner-lip loop. Defaults to 12.0.

    Returns:
        FaceModel: The model.

    Raises:
        FileNotFoundError: If the chosen npz does not exist (the message
            names it and says how to build one).
        ValueError: If the npz lacks a key or has inconsistent shapes
            (naming the file).
    """
    resolved = resolve_face_model_path(path)
    key = (resolved, bool(close_eyes), bool(close_mouth), float(mouth_depth))
    with _LOCK:
        model = _CACHE.get(key)
        if model is None:
            model = _build(resolved, close_eyes, close_mouth, mouth_depth)
            _CACHE[key] = model
    return model


def _build(path, close_eyes, close_mouth, mouth_depth) -> FaceModel:
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as err:  # noqa: BLE001 - report which file failed
        raise ValueError(f'{path}: not a readable npz ({err})') from err
    with data:
        missing = [k for k in FACE_MODEL_KEYS if k not in data.files]
        if missing:
            raise ValueError(f'{path}: missing keys {missing}; expected '
                             f'{list(FACE_MODEL_KEYS)}')
        vertices = data['vertices'].astype(np.float32)
        faces = data['faces'].astype(np.int64)
        uv = data['uv'].astype(np.float32)
        id_basis = data['identity_basis'].astype(np.float32)
        exp_basis = data['expression_basis'].astype(np.float32)
        names = tuple(str(s) for s in data['expression_names'])
        landmarks = data['landmarks68'].astype(np.int64)
    n = vertices.shape[0]
    checks = [
        (vertices.ndim == 2 and vertices.shape[1] == 3, 'vertices (N, 3)'),
        (faces.ndim == 2 and faces.shape[1] == 3, 'faces (F, 3)'),
        (uv.shape == (n, 2), f'uv ({n}, 2)'),
        (id_basis.ndim == 3 and id_basis.shape[1:] == (n, 3),
         f'identity_basis (I, {n}, 3)'),
        (exp_basis.ndim == 3 and exp_basis.shape[1:] == (n, 3),
         f'expression_basis (E, {n}, 3)'),
        (len(names) == exp_basis.shape[0], 'one expression name per shape'),
        (faces.size == 0 or (faces.min() >= 0 and faces.max() < n),
         f'face indices in [0, {n})'),
        (landmarks.size == 0 or
         (landmarks.min() >= 0 and landmarks.max() < n),
         f'landmark indices in [0, {n})'),
    ]
    for ok, what in checks:
        if not ok:
            raise ValueError(f'{path}: expected {what}')
    loops = {}
    if close_eyes or close_mouth:
        named = _classify_loops(boundary_loops(faces), vertices, landmarks)
        loops = {
            k: v
            for k, v in named.items()
            if (k == 'mouth' and close_mouth) or
            (k.startswith('eye') and close_eyes)
        }
    vertices, faces, uv, id_basis, exp_basis, centres = _fill_holes(
        vertices, faces, uv, id_basis, exp_basis, loops, mouth_depth)
    faces = faces.astype(np.int32)
    basis = np.ascontiguousarray(
        np.concatenate([
            id_basis.reshape(id_basis.shape[0], -1),
            exp_basis.reshape(exp_basis.shape[0], -1)
        ]))
    model = FaceModel(
        vertices=np.ascontiguousarray(vertices),
        faces=np.ascontiguousarray(faces),
        uv=np.ascontiguousarray(uv),
        face_uvs=np.ascontiguousarray(uv[faces]),
        identity_basis=basis[:id_basis.shape[0]].reshape(id_basis.shape),
        expression_basis=basis[id_basis.shape[0]:].reshape(exp_basis.shape),
        basis=basis,
        expression_names=names,
        landmarks68=landmarks,
        hole_centres=centres,
        hole_loops={k: loops[k]
                    for k in centres},
        num_model_vertices=n,
        path=path)
    for arr in (model.vertices, model.faces, model.uv, model.face_uvs,
                model.basis, model.landmarks68):
        arr.setflags(write=False)
    return model
