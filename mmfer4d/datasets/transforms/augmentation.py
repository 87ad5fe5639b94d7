# Copyright (c) mmfer4d contributors. All rights reserved.
"""Random 3D augmentation of face meshes before rendering: a small rigid
motion with scaling and noise, and a smooth warp (the left-right mirror is
in :mod:`.mesh_flip`)."""
from typing import Optional, Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform

from mmfer4d.registry import TRANSFORMS
from mmfer4d.structures.geometry import rotation_matrix
from .loading import get_meshes, set_meshes


@TRANSFORMS.register_module()
class RandomMeshAugment(BaseTransform):
    """Random small rotation, scaling and vertex noise of a face mesh.

    Each of the three is applied with its own probability, in the order
    rotation, scaling, noise. Rotation and scaling are about ``center``
    (the origin by default, which :class:`NormalizeFace` puts on the nose
    tip) and move the landmarks too; noise moves vertices only.

    A sequence gets the SAME rotation, scale and decisions on every frame.
    Noise is one ``(N, 3)`` field shared by all frames when they have the
    same number of vertices (registered meshes: the noise then adds no
    fake motion), else drawn per frame with the same sigma.

    Random numbers come from numpy's global generator, which mmengine seeds
    per DataLoader worker (``worker_init_fn``), as mmcv's transforms do.

    **Required Keys:**

    - mesh or meshes

    **Modified Keys:**

    - mesh or meshes

    **Added Keys:**

    - mesh_augment (dict): the drawn parameters: ``rotate`` (``(3,)``
      degrees about x, y, z, or None), ``scale`` (float or None),
      ``noise_mm`` (float or None).

    Args:
        rotate_deg (float | Sequence[float]): Maximum absolute rotation in
            degrees about x (pitch), y (yaw) and z (roll); each angle is
            uniform in ``[-r, r]``. A single number is used for all three.
            Defaults to (5, 5, 5).
        rotate_prob (float): Probability of rotating. Defaults to 0.5.
        scale (Sequence[float]): ``(low, high)`` range of the isotropic
            scale factor, drawn uniformly. Defaults to (0.95, 1.05).
        scale_prob (float): Probability of scaling. Defaults to 0.5.
        noise_mm (float): Standard deviation in mm of the Gaussian noise
            added to each vertex coordinate. Defaults to 0.2.
        noise_prob (float): Probability of adding noise. Defaults to 0.5.
        center (Sequence[float], optional): ``(3,)`` centre in mm of
            rotation and scaling; None uses each mesh's vertex centroid
            (of the first frame for a sequence). Defaults to (0, 0, 0).

    Raises:
        ValueError: On probabilities outside [0, 1], a negative noise or
            an invalid scale range.
    """

    def __init__(self,
                 rotate_deg: Union[float, Sequence[float]] = (5, 5, 5),
                 rotate_prob: float = 0.5,
                 scale: Tuple[float, float] = (0.95, 1.05),
                 scale_prob: float = 0.5,
                 noise_mm: float = 0.2,
                 noise_prob: float = 0.5,
                 center: Optional[Sequence[float]] = (0.0, 0.0, 0.0)):
        for name, prob in (('rotate_prob', rotate_prob),
                           ('scale_prob', scale_prob), ('noise_prob',
                                                        noise_prob)):
            if not 0.0 <= prob <= 1.0:
                raise ValueError(f'{name} must be in [0, 1], got {prob}')
        rotate = np.broadcast_to(
            np.asarray(rotate_deg, dtype=np.float64), (3, )).copy()
        if (rotate < 0).any():
            raise ValueError(f'rotate_deg must be >= 0, got {rotate_deg}')
        if len(scale) != 2 or not 0 < scale[0] <= scale[1]:
            raise ValueError(
                f'scale must be (low, high) with 0 < low <= high, got {scale}')
        if noise_mm < 0:
            raise ValueError(f'noise_mm must be >= 0, got {noise_mm}')
        self.rotate_deg = rotate
        self.rotate_prob = rotate_prob
        self.scale = (float(scale[0]), float(scale[1]))
        self.scale_prob = scale_prob
        self.noise_mm = float(noise_mm)
        self.noise_prob = noise_prob
        self.center = None if center is None else np.asarray(
            center, dtype=np.float64)

    def _draw(self) -> dict:
        params = dict(rotate=None, scale=None, noise_mm=None)
        # Draw every number whatever the decisions, so one decision does not
        # shift the random stream of the others.
        do_rot, do_scale, do_noise = np.random.rand(3)
        angles = np.random.uniform(-self.rotate_deg, self.rotate_deg)
        factor = np.random.uniform(*self.scale)
        if do_rot < self.rotate_prob:
            params['rotate'] = angles
        if do_scale < self.scale_prob:
            params['scale'] = float(factor)
        if do_noise < self.noise_prob and self.noise_mm > 0:
            params['noise_mm'] = self.noise_mm
        return params

    def transform(self, results: dict) -> dict:
        meshes, is_seq = get_meshes(results)
        params = self._draw()
        lin = np.eye(3)
        if params['rotate'] is not None:
            pitch, yaw, roll = params['rotate']
            # x first, then y, then z: see the note on ``order`` in
            # mmfer4d.structures.geometry.
            lin = rotation_matrix(yaw, pitch, roll, order='zyx')
        if params['scale'] is not None:
            lin = params['scale'] * lin
        moved = params['rotate'] is not None or params['scale'] is not None
        center = self.center
        if center is None and meshes:
            center = meshes[0].vertices.astype(np.float64).mean(0)
        shared_noise = None
        if params['noise_mm'] is not None and meshes and len(
            {m.num_vertices
             for m in meshes}) == 1:
            shared_noise = np.random.normal(
                0.0, self.noise_mm, size=(meshes[0].num_vertices, 3))
        out = []
        for mesh in meshes:
            verts = mesh.vertices.astype(np.float64)
            lms = None if mesh.landmarks is None else \
                mesh.landmarks.astype(np.float64)
            if moved:
                verts = (verts - center) @ lin.T + center
                if lms is not None:
                    lms = (lms - center) @ lin.T + center
            if params['noise_mm'] is not None:
                noise = shared_noise if shared_noise is not None else \
                    np.random.normal(0.0, self.noise_mm, size=verts.shape)
                verts = verts + noise
            out.append(mesh.copy(vertices=verts, landmarks=lms))
        set_meshes(results, out, is_seq)
        results['mesh_augment'] = params
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(rotate_deg={self.rotate_deg.tolist()},'
                f' rotate_prob={self.rotate_prob}, scale={self.scale}, '
                f'scale_prob={self.scale_prob}, noise_mm={self.noise_mm}, '
                f'noise_prob={self.noise_prob}, center='
                f'{None if self.center is None else self.center.tolist()})')


@TRANSFORMS.register_module()
class RandomMeshWarp(BaseTransform):
    """Smooth random deformation of a face mesh, a stand-in for identity.

    With a handful of training subjects a model can learn their face shapes
    instead of their expressions. This transform moves every point ``p``
    (mm) by a smooth random field, a sum of ``K`` plane waves::

        d(p) = sum_k a_k sin(w_k . p + phi_k) u_k

    with random unit directions of propagation ``w_k / |w_k|`` and of
    displacement ``u_k``, wavelengths ``2 pi / |w_k|`` uniform in
    ``wavelength_mm``, phases uniform in ``[0, 2 pi)`` and amplitudes
    ``a_k`` uniform in ``[0, amplitude_mm / sqrt(K)]``. Long waves (a face
    is about 150 mm across) change the proportions of the face, as another
    subject's would, while the local shape of an Action Unit (a brow
    furrow, a lip corner pulled up) is bent only slightly. The
    displacement is at most ``sqrt(K) * amplitude_mm`` and its RMS about
    ``amplitude_mm / sqrt(6)``.

    Landmarks move with the same field; a sequence gets the same field on
    every frame (no fake motion).

    **Required Keys:**

    - mesh or meshes

    **Modified Keys:**

    - mesh or meshes

    **Added Keys:**

    - mesh_warp (dict or None): the drawn field (``directions`` ``(K, 3)``,
      ``wavelengths_mm`` ``(K,)``, ``phases`` ``(K,)``,
      ``amplitudes_mm`` ``(K,)``, ``displacement_dirs`` ``(K, 3)``), None
      when not applied.

    Args:
        amplitude_mm (float): Scale of the amplitudes, mm. Defaults to 6.0.
        wavelength_mm (tuple[float]): ``(low, high)`` wavelength range, mm.
            Defaults to (60.0, 160.0).
        num_waves (int): ``K``. Defaults to 4.
        prob (float): Probability of warping. Defaults to 0.8.

    Raises:
        ValueError: On a negative amplitude, a wavelength range that is not
            ``0 < low <= high``, ``num_waves < 1`` or ``prob`` outside
            [0, 1].
    """

    def __init__(self,
                 amplitude_mm: float = 6.0,
                 wavelength_mm: Tuple[float, float] = (60.0, 160.0),
                 num_waves: int = 4,
                 prob: float = 0.8):
        if amplitude_mm < 0:
            raise ValueError(
                f'amplitude_mm must be >= 0, got {amplitude_mm}')
        if len(wavelength_mm) != 2 or not \
                0 < wavelength_mm[0] <= wavelength_mm[1]:
            raise ValueError('wavelength_mm must be (low, high) with 0 < '
                             f'low <= high, got {wavelength_mm}')
        if int(num_waves) < 1:
            raise ValueError(f'num_waves must be >= 1, got {num_waves}')
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        self.amplitude_mm = float(amplitude_mm)
        self.wavelength_mm = (float(wavelength_mm[0]),
                              float(wavelength_mm[1]))
        self.num_waves = int(num_waves)
        self.prob = prob

    def _draw(self) -> Optional[dict]:
        # Every number is drawn whatever the decision, so that the decision
        # does not shift the random stream of later transforms.
        k = self.num_waves
        directions = np.random.normal(size=(k, 3))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        wavelengths = np.random.uniform(*self.wavelength_mm, k)
        phases = np.random.uniform(0.0, 2 * np.pi, k)
        disp = np.random.normal(size=(k, 3))
        disp /= np.linalg.norm(disp, axis=1, keepdims=True)
        amplitudes = np.random.uniform(0.0, self.amplitude_mm, k) / np.sqrt(k)
        if np.random.rand() >= self.prob:
            return None
        return dict(
            directions=directions,
            wavelengths_mm=wavelengths,
            phases=phases,
            amplitudes_mm=amplitudes,
            displacement_dirs=disp)

    @staticmethod
    def displacement(points: np.ndarray, field: dict) -> np.ndarray:
        """``d(p)`` of the class formula.

        Args:
            points (np.ndarray): ``(N, 3)`` positions, mm.
            field (dict): As in ``results['mesh_warp']``.

        Returns:
            np.ndarray: ``(N, 3)`` float64 displacements, mm.
        """
        omega = field['directions'] * (2 * np.pi /
                                       field['wavelengths_mm'])[:, None]
        waves = np.sin(
            np.asarray(points, np.float64) @ omega.T + field['phases'])
        return (waves * field['amplitudes_mm']) @ field['displacement_dirs']

    def transform(self, results: dict) -> dict:
        meshes, is_seq = get_meshes(results)
        field = self._draw()
        results['mesh_warp'] = field
        if field is None:
            return results
        out = []
        for mesh in meshes:
            verts = mesh.vertices.astype(np.float64)
            lms = None
            if mesh.landmarks is not None:
                lms = mesh.landmarks.astype(np.float64)
                lms = lms + self.displacement(lms, field)
            out.append(
                mesh.copy(
                    vertices=verts + self.displacement(verts, field),
                    landmarks=lms))
        set_meshes(results, out, is_seq)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(amplitude_mm={self.amplitude_mm}, '
                f'wavelength_mm={self.wavelength_mm}, num_waves='
                f'{self.num_waves}, prob={self.prob})')
