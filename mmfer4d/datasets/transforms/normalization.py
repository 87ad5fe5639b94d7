# Copyright (c) mmfer4d contributors. All rights reserved.
"""Pose and extent normalisation of face meshes: nose-tip centring, a
spherical crop, rigid alignment to a template and scaling (the geometry
lives in :mod:`mmfer4d.structures.geometry`)."""
from typing import Optional, Sequence, Union

import numpy as np
from mmcv.transforms import BaseTransform

from mmfer4d.registry import TRANSFORMS
from mmfer4d.structures.geometry import (crop_mesh_sphere, estimate_nose_tip,
                                         kabsch_rotation)
from mmfer4d.structures.mesh import Mesh
from .loading import get_meshes, set_meshes


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
