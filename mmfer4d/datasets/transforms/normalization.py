# Copyright (c) mmfer4d contributors. All rights reserved.
"""Pose and extent normalisation of face meshes: nose-tip centring, a
spherical crop, rigid alignment to a template and scaling."""
from typing import Optional, Sequence, Union

import numpy as np
from mmcv.transforms import BaseTransform

from mmfer4d.registry import TRANSFORMS
from mmfer4d.structures.mesh import Mesh
from .loading import get_meshes, set_meshes

# Index (0-based) of the nose tip in landmark schemes that have one, keyed by
# the number of landmarks. Multi-PIE / iBUG 68: point 31 (1-based) is the
# tip of the nose ("pronasale").
NOSE_TIP_INDEX = {68: 30}

# Schemes without a nose-tip point but with nose points around it: the tip
# is estimated geometrically among the vertices under the nose landmarks.
# BU-3DFE / BU-4DFE / BP4D 83 points: 37-48 (1-based) outline the nose
# (bridge sides, alae, nostrils).
NOSE_REGION_INDICES = {83: tuple(range(36, 48))}


def estimate_nose_tip(mesh: Mesh,
                      nose_index: Optional[int] = None,
                      top_k: int = 50,
                      central_fraction: float = 0.35,
                      tip_radius: float = 3.0) -> np.ndarray:
    """Estimate the nose tip of a roughly frontal face.

    In order of preference:

    1. ``mesh.landmarks[nose_index]`` when ``nose_index`` is given.
    2. The landmark named like ``'nose tip'`` in
       ``mesh.metainfo['landmark_names']`` (Bosphorus ``.lm3`` files name
       it ``'Nose tip'``).
    3. A scheme known by its landmark count (:data:`NOSE_TIP_INDEX`:
       68 points -> index 30).
    4. A geometric estimate, restricted to the vertices under the nose
       landmarks for schemes listed in :data:`NOSE_REGION_INDICES` (the
       83-point BU-3DFE scheme has no nose-tip point), else to the central
       vertices: those within ``central_fraction`` of the xy extent from
       the median xy. Among them, the ``top_k`` most frontal (largest z)
       give the tip's xy (their median, so that a few spikes of scanner
       noise cannot win), and the tip's z is the median of the 3 largest
       z within ``tip_radius`` mm of that xy.

    The face is assumed to look along +z, as the readers deliver scans.

    Args:
        mesh (Mesh): The face.
        nose_index (int, optional): Index of the nose tip in
            ``mesh.landmarks``. Defaults to None (automatic).
        top_k (int): Frontal candidates of the geometric estimate.
            Defaults to 50.
        central_fraction (float): Radius of the central region, as a
            fraction of the larger of the x and y extents. Defaults to 0.35.
        tip_radius (float): Radius in mm around the candidates' median xy
            used for the tip's z. Defaults to 3.0.

    Returns:
        np.ndarray: ``(3,)`` float64 nose-tip position in mm.

    Raises:
        ValueError: If the mesh has no vertices, or ``nose_index`` is given
            but the mesh has too few landmarks.
    """
    where = f' ({mesh.path})' if mesh.path else ''
    lms = mesh.landmarks
    if nose_index is not None:
        if lms is None or not -len(lms) <= nose_index < len(lms):
            count = 0 if lms is None else len(lms)
            raise ValueError(f'nose_index={nose_index} but the mesh has '
                             f'{count} landmarks{where}')
        return lms[nose_index].astype(np.float64)
    if lms is not None and len(lms):
        names = mesh.metainfo.get('landmark_names')
        if names is not None and len(names) == len(lms):
            for i, name in enumerate(names):
                key = str(name).lower().replace('_', ' ').replace('-', ' ')
                if 'nose tip' in key or key.strip() == 'pronasale':
                    return lms[i].astype(np.float64)
        if len(lms) in NOSE_TIP_INDEX:
            return lms[NOSE_TIP_INDEX[len(lms)]].astype(np.float64)
    verts = mesh.vertices.astype(np.float64)
    if len(verts) == 0:
        raise ValueError(f'cannot find the nose tip of an empty mesh{where}')
    xy = verts[:, :2]
    region = None
    if lms is not None and len(lms) in NOSE_REGION_INDICES:
        nose = lms[list(NOSE_REGION_INDICES[len(lms)]), :2]
        lo, hi = nose.min(0) - 5.0, nose.max(0) + 5.0
        region = np.all((xy >= lo) & (xy <= hi), axis=1)
        if not region.any():
            region = None
    if region is None:
        centre = np.median(xy, axis=0)
        extent = float((xy.max(0) - xy.min(0)).max())
        dist = np.linalg.norm(xy - centre, axis=1)
        region = dist <= max(central_fraction * extent, 1e-6)
    cand = verts[region]
    k = int(min(top_k, len(cand)))
    top = cand[np.argpartition(-cand[:, 2], k - 1)[:k]]
    tip_xy = np.median(top[:, :2], axis=0)
    near = cand[np.linalg.norm(cand[:, :2] - tip_xy, axis=1) <= tip_radius]
    if len(near) == 0:
        near = top
    zs = np.sort(near[:, 2])[-3:]
    return np.array([tip_xy[0], tip_xy[1], np.median(zs)])


def crop_mesh_sphere(mesh: Mesh, center: Sequence[float],
                     radius: float) -> Mesh:
    """Keep the part of a mesh inside a sphere.

    Vertices farther than ``radius`` from ``center`` are removed, with every
    face that uses one of them; the remaining faces are reindexed, and
    per-face UVs and per-vertex colours are kept consistent. Landmarks and
    the texture image are left as they are.

    Args:
        mesh (Mesh): The mesh.
        center (Sequence[float]): ``(3,)`` centre of the sphere in mm.
        radius (float): Radius in mm.

    Returns:
        Mesh: A new mesh (the input is not changed).
    """
    center = np.asarray(center, dtype=np.float64)
    dist2 = ((mesh.vertices.astype(np.float64) - center)**2).sum(1)
    keep = dist2 <= float(radius)**2
    if keep.all():
        return mesh.copy()
    new_index = np.cumsum(keep, dtype=np.int64) - 1
    face_keep = keep[mesh.faces].all(axis=1) if mesh.num_faces else \
        np.zeros(0, dtype=bool)
    faces = new_index[mesh.faces[face_keep]].astype(np.int32)
    return mesh.copy(
        vertices=mesh.vertices[keep],
        faces=faces.reshape(-1, 3),
        face_uvs=None if mesh.face_uvs is None else mesh.face_uvs[face_keep],
        vertex_colors=None
        if mesh.vertex_colors is None else mesh.vertex_colors[keep])


def kabsch_rotation(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The rotation that best maps centred ``source`` points onto ``target``.

    Minimises ``sum_i ||R (a_i - a_mean) - (b_i - b_mean)||^2`` over proper
    rotations (det R = +1), by the SVD of the cross-covariance matrix with
    the reflection correction (Kabsch, Acta Cryst. A32, 1976, eq. 10;
    Umeyama, TPAMI 1991, eq. 39 without scale).

    Args:
        source (np.ndarray): ``(L, 3)`` points.
        target (np.ndarray): ``(L, 3)`` corresponding points.

    Returns:
        np.ndarray: ``(3, 3)`` float64 rotation R, applied as ``R @ p``.

    Raises:
        ValueError: If the shapes differ or fewer than 3 points are given.
    """
    a = np.asarray(source, dtype=np.float64)
    b = np.asarray(target, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2 or a.shape[1] != 3 or len(a) < 3:
        raise ValueError('kabsch_rotation needs two (L, 3) arrays with '
                         f'L >= 3, got {a.shape} and {b.shape}')
    h = (a - a.mean(0)).T @ (b - b.mean(0))
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(vt.T @ u.T)) or 1.0
    return vt.T @ np.diag([1.0, 1.0, d]) @ u.T


def _transform_mesh(mesh: Mesh, matrix: np.ndarray) -> Mesh:
    """Apply a ``(4, 4)`` affine map to vertices and landmarks."""
    lin, trans = matrix[:3, :3], matrix[:3, 3]
    verts = mesh.vertices.astype(np.float64) @ lin.T + trans
    lms = None if mesh.landmarks is None else \
        mesh.landmarks.astype(np.float64) @ lin.T + trans
    return mesh.copy(vertices=verts, landmarks=lms)


@TRANSFORMS.register_module()
class NormalizeFace(BaseTransform):
    """Centre a face on its nose tip, crop, align and scale it.

    Steps, in order: estimate the nose tip
    (:func:`estimate_nose_tip`); crop to a sphere of ``crop_radius`` mm
    around it (:func:`crop_mesh_sphere`); rotate to the template
    (:func:`kabsch_rotation` on landmarks); translate so that the origin is
    the nose tip (or the centroid); multiply by ``scale``. Landmarks follow
    the vertices.

    Sequences use ONE reference (``sequence_reference='first'``, the
    default): the tip, crop centre and rotation estimated on the first
    sampled frame are applied to every frame, so the head's motion and the
    nose's own movement stay visible and the estimation noise of each frame
    does not make the face jitter. ``'each'`` estimates them per frame.

    Alignment needs landmarks on both the mesh and the template, with the
    same count (or ``align_landmark_inds`` selecting corresponding ones).
    No ICP is done: when the mesh has no landmarks, ``align_fallback``
    says whether to leave the pose unchanged (``'skip'``) or raise
    (``'raise'``). Scans from the supported data sets are captured nearly
    frontal, so skipping loses little.

    **Required Keys:**

    - mesh or meshes

    **Modified Keys:**

    - mesh or meshes

    **Added Keys:**

    - nose_tip (np.ndarray): ``(3,)`` float32, the nose tip in the input
      coordinates, mm (of the reference frame for a sequence).
    - normalize_matrix (np.ndarray): ``(4, 4)`` float32 affine map applied
      to the vertices (of the reference frame for a sequence).

    Args:
        center (str, optional): ``'nose_tip'`` puts the nose tip at the
            origin, ``'centroid'`` the mean of the (cropped) vertices, None
            keeps the position (the template's when aligning). Defaults to
            ``'nose_tip'``.
        crop_radius (float, optional): Radius in mm of the sphere around
            the nose tip that is kept; None keeps everything. Defaults to
            90.0, the usual choice for faces (e.g. the FRGC / BU-3DFE
            literature).
        align_template (np.ndarray | str, optional): ``(L, 3)`` landmarks
            of a frontal template in mm, or a ``.npy`` / whitespace-text file
            holding them. Defaults to None (no alignment).
        align_landmark_inds (Sequence[int], optional): Landmark indices
            used for alignment, into both the mesh's and the template's
            landmarks; prefer rigid points (eye corners, nose) over the
            mouth. Defaults to None (all).
        align_fallback (str): ``'skip'`` or ``'raise'`` when a mesh has no
            usable landmarks. Defaults to ``'skip'``.
        scale (float): Factor applied last (after centring). Defaults to 1.0.
        nose_index (int, optional): Index of the nose tip in the mesh's
            landmarks, overriding the automatic choice. Defaults to None.
        sequence_reference (str): ``'first'`` or ``'each'``. Defaults to
            ``'first'``.

    Raises:
        ValueError: On unknown options, or (``align_fallback='raise'``) a
            mesh without usable landmarks, or a crop leaving no vertex.
    """

    def __init__(self,
                 center: Optional[str] = 'nose_tip',
                 crop_radius: Optional[float] = 90.0,
                 align_template: Optional[Union[np.ndarray, str]] = None,
                 align_landmark_inds: Optional[Sequence[int]] = None,
                 align_fallback: str = 'skip',
                 scale: float = 1.0,
                 nose_index: Optional[int] = None,
                 sequence_reference: str = 'first'):
        if center not in ('nose_tip', 'centroid', None):
            raise ValueError("center must be 'nose_tip', 'centroid' or None, "
                             f'got {center!r}')
        if align_fallback not in ('skip', 'raise'):
            raise ValueError("align_fallback must be 'skip' or 'raise', got "
                             f'{align_fallback!r}')
        if sequence_reference not in ('first', 'each'):
            raise ValueError("sequence_reference must be 'first' or 'each', "
                             f'got {sequence_reference!r}')
        if crop_radius is not None and crop_radius <= 0:
            raise ValueError(f'crop_radius must be > 0 mm, got {crop_radius}')
        self.center = center
        self.crop_radius = crop_radius
        self.template_source = align_template
        self.template = self._read_template(align_template)
        self.align_landmark_inds = None if align_landmark_inds is None \
            else list(align_landmark_inds)
        self.align_fallback = align_fallback
        self.scale = float(scale)
        self.nose_index = nose_index
        self.sequence_reference = sequence_reference

    @staticmethod
    def _read_template(template) -> Optional[np.ndarray]:
        if template is None:
            return None
        if isinstance(template, str):
            try:
                arr = np.load(template) if template.endswith('.npy') else \
                    np.loadtxt(template)
            except (OSError, ValueError) as err:
                raise ValueError(
                    f'{template}: cannot read the alignment template '
                    f'({err})') from err
        else:
            arr = np.asarray(template)
        arr = np.asarray(arr, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != 3 or len(arr) < 3:
            raise ValueError('align_template must be (L, 3) landmarks with '
                             f'L >= 3, got shape {arr.shape}')
        return arr

    def _rotation(self, mesh: Mesh) -> Optional[np.ndarray]:
        """Rotation to the template, or None when it cannot be computed."""
        lms = mesh.landmarks
        tpl = self.template
        problem = None
        if lms is None:
            problem = 'the mesh has no landmarks'
        elif self.align_landmark_inds is not None:
            inds = self.align_landmark_inds
            if max(inds) >= min(len(lms), len(tpl)):
                problem = (f'align_landmark_inds up to {max(inds)} but the '
                           f'mesh has {len(lms)} and the template '
                           f'{len(tpl)} landmarks')
            else:
                lms, tpl = lms[inds], tpl[inds]
        elif len(lms) != len(tpl):
            problem = (f'the mesh has {len(lms)} landmarks, the template '
                       f'{len(tpl)}')
        if problem is not None:
            if self.align_fallback == 'raise':
                where = f'{mesh.path}: ' if mesh.path else ''
                raise ValueError(f'{where}cannot align to the template: '
                                 f'{problem}')
            return None
        return kabsch_rotation(lms, tpl)

    def _fit(self, mesh: Mesh) -> dict:
        """Estimate the parameters on a (reference) mesh."""
        tip = estimate_nose_tip(mesh, self.nose_index)
        rot = self._rotation(mesh) if self.template is not None else None
        return dict(tip=tip, rot=rot)

    def _apply(self, mesh: Mesh, params: dict) -> tuple:
        tip, rot = params['tip'], params['rot']
        if self.crop_radius is not None:
            mesh = crop_mesh_sphere(mesh, tip, self.crop_radius)
            if mesh.num_vertices == 0:
                where = f' of {mesh.path}' if mesh.path else ''
                raise ValueError(
                    f'no vertex{where} lies within {self.crop_radius} mm of '
                    f'the nose tip estimate {tip.round(2).tolist()}')
        lin = np.eye(3) if rot is None else rot
        if self.center == 'nose_tip':
            origin = tip
        elif self.center == 'centroid':
            origin = mesh.vertices.astype(np.float64).mean(0)
        else:
            origin = None
        if origin is not None:
            trans = -lin @ origin
        elif rot is not None:
            # Full rigid map onto the template: R (p - a_mean) + b_mean.
            src, dst = mesh.landmarks, self.template
            if self.align_landmark_inds is not None:
                src = src[self.align_landmark_inds]
                dst = dst[self.align_landmark_inds]
            trans = dst.mean(0) - rot @ src.astype(np.float64).mean(0)
        else:
            trans = np.zeros(3)
        matrix = np.eye(4)
        matrix[:3, :3] = self.scale * lin
        matrix[:3, 3] = self.scale * trans
        return _transform_mesh(mesh, matrix), matrix

    def transform(self, results: dict) -> dict:
        meshes, is_seq = get_meshes(results)
        if not meshes:
            raise ValueError('NormalizeFace got an empty sequence')
        ref = self._fit(meshes[0])
        out, matrices = [], []
        for i, mesh in enumerate(meshes):
            params = ref if (i == 0 or self.sequence_reference == 'first') \
                else self._fit(mesh)
            new, matrix = self._apply(mesh, params)
            out.append(new)
            matrices.append(matrix)
        set_meshes(results, out, is_seq)
        results['nose_tip'] = ref['tip'].astype(np.float32)
        results['normalize_matrix'] = matrices[0].astype(np.float32)
        return results

    def __repr__(self) -> str:
        template = None if self.template is None else \
            (self.template_source if isinstance(self.template_source, str)
             else f'array{self.template.shape}')
        return (f'{type(self).__name__}(center={self.center!r}, '
                f'crop_radius={self.crop_radius}, '
                f'align_template={template!r}, '
                f'align_fallback={self.align_fallback!r}, '
                f'scale={self.scale}, nose_index={self.nose_index}, '
                f'sequence_reference={self.sequence_reference!r})')
