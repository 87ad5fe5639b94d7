# Copyright (c) mmfer4d contributors. All rights reserved.
"""Left-right mirroring of face meshes before rendering."""
from typing import Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from mmfer4d.registry import TRANSFORMS
from mmfer4d.structures.mesh import Mesh
from .loading import get_meshes, set_meshes


def _ibug68_flip_index() -> np.ndarray:
    """Index map of the iBUG 68-point scheme under a left-right mirror.

    ``flipped[i] = landmarks[index[i]]`` after the x coordinate is negated:
    the jaw line, brows, nose wings, eyes and mouth swap sides; the nose
    ridge, the lip mid-points and the chin stay.
    """
    index = np.arange(68)
    pairs = [(i, 16 - i) for i in range(8)]  # jaw 0-16, chin 8 stays
    pairs += [(17 + i, 26 - i) for i in range(5)]  # brows
    pairs += [(31, 35), (32, 34)]  # nose wings
    pairs += [(36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46)]
    pairs += [(48, 54), (49, 53), (50, 52), (55, 59), (56, 58)]  # outer lip
    pairs += [(60, 64), (61, 63), (65, 67)]  # inner lip
    for a, b in pairs:
        index[a], index[b] = b, a
    return index


#: Landmark index maps of known schemes under a left-right mirror, by
#: landmark count.
LANDMARK_FLIP_INDEX = {68: _ibug68_flip_index()}


@TRANSFORMS.register_module()
class RandomMeshFlip(BaseTransform):
    """Mirror a face mesh left-right (``x -> 2 c_x - x``) with a probability.

    The 3D counterpart of mmpretrain's ``RandomFlip(direction='horizontal')``,
    the usual augmentation of 2D FER: applied to the mesh before rendering,
    so that every view stays consistent (the left view of the mirrored face
    is the mirror image of the right view of the original), which flipping
    each rendered view could not give. Triangle winding is reversed so that
    normals still point out of the face, per-corner texture coordinates
    follow their corners, and landmarks are mirrored and re-indexed so that
    a left eye corner is again a left eye corner (see ``landmark_flip_index``).

    Expression labels are unchanged (a mirrored smile is a smile; a
    unilateral expression such as contempt moves to the other side).

    A sequence is mirrored as a whole (all frames or none).

    **Required Keys:**

    - mesh or meshes

    **Modified Keys:**

    - mesh or meshes

    **Added Keys:**

    - mesh_flip (bool): whether the mesh was mirrored.

    Args:
        prob (float): Probability of mirroring. Defaults to 0.5.
        center_x (float): ``c_x``, the x in mm of the mirror plane. Defaults
            to 0.0 (the nose tip after :class:`NormalizeFace`).
        landmark_flip_index (Sequence[int], optional): ``(L,)`` map with
            ``new[i] = mirrored[index[i]]``. Defaults to None: the iBUG
            68-point map for 68 landmarks (:data:`LANDMARK_FLIP_INDEX`).
        unknown_landmarks (str): What to do with landmarks of a count that
            has neither a given nor a known map: ``'raise'`` (mirroring
            them without re-indexing would silently swap their meaning) or
            ``'drop'`` them from the mirrored mesh (for pipelines where no
            later step reads them, e.g. after :class:`NormalizeFace`).
            Defaults to ``'raise'``.

    Raises:
        ValueError: On ``prob`` outside [0, 1], an index map that is not a
            permutation or an unknown ``unknown_landmarks``; in the
            transform, with ``unknown_landmarks='raise'``, when the mesh
            has landmarks of a count with neither a given nor a known map,
            or of another count than the given map.
    """

    def __init__(self,
                 prob: float = 0.5,
                 center_x: float = 0.0,
                 landmark_flip_index: Optional[Sequence[int]] = None,
                 unknown_landmarks: str = 'raise'):
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        if unknown_landmarks not in ('raise', 'drop'):
            raise ValueError("unknown_landmarks must be 'raise' or 'drop', "
                             f'got {unknown_landmarks!r}')
        self.unknown_landmarks = unknown_landmarks
        self.prob = prob
        self.center_x = float(center_x)
        self.landmark_flip_index = None
        if landmark_flip_index is not None:
            index = np.asarray(landmark_flip_index, dtype=np.int64)
            if index.ndim != 1 or not np.array_equal(
                    np.sort(index), np.arange(index.size)):
                raise ValueError('landmark_flip_index must be a permutation '
                                 f'of 0..L-1, got {landmark_flip_index}')
            self.landmark_flip_index = index

    def _landmark_index(self, count: int,
                        where: str) -> Optional[np.ndarray]:
        index = self.landmark_flip_index
        if index is None:
            index = LANDMARK_FLIP_INDEX.get(count)
            if index is None and self.unknown_landmarks == 'drop':
                return None
            if index is None:
                raise ValueError(
                    f'RandomMeshFlip: {where}has {count} landmarks and no '
                    'left-right index map is known for that count (known: '
                    f'{sorted(LANDMARK_FLIP_INDEX)}); pass '
                    'landmark_flip_index, or drop the landmarks before '
                    'flipping')
        elif index.size != count:
            raise ValueError(f'RandomMeshFlip: {where}has {count} landmarks '
                             f'but landmark_flip_index has {index.size}')
        return index

    def flip(self, mesh: Mesh) -> Mesh:
        """The mirrored copy of one mesh.

        Raises:
            ValueError: See the class.
        """
        verts = mesh.vertices.copy()
        verts[:, 0] = 2.0 * self.center_x - verts[:, 0]
        changes = dict(vertices=verts, faces=mesh.faces[:, ::-1].copy())
        if mesh.face_uvs is not None:
            changes['face_uvs'] = mesh.face_uvs[:, ::-1].copy()
        if mesh.landmarks is not None:
            path = mesh.metainfo.get('path')
            index = self._landmark_index(
                len(mesh.landmarks), f'{path} ' if path else '')
            if index is None:
                changes['landmarks'] = None
            else:
                lms = mesh.landmarks[index].copy()
                lms[:, 0] = 2.0 * self.center_x - lms[:, 0]
                changes['landmarks'] = lms
        return mesh.copy(**changes)

    def transform(self, results: dict) -> dict:
        meshes, is_seq = get_meshes(results)
        do_flip = bool(np.random.rand() < self.prob)
        if do_flip:
            set_meshes(results, [self.flip(m) for m in meshes], is_seq)
        results['mesh_flip'] = do_flip
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(prob={self.prob}, center_x='
                f'{self.center_x}, unknown_landmarks='
                f'{self.unknown_landmarks!r})')
