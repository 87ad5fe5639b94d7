# Copyright (c) mmfer4d contributors. All rights reserved.
"""Loading transforms of the synthetic data sets: parameters -> meshes."""
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform

from mmfer4d.registry import TRANSFORMS
from mmfer4d.synthesis import (load_face_model, synthesize,
                               synthesize_sequence)


class _SynthesizeBase(BaseTransform):

    def __init__(self,
                 face_model: Optional[str] = None,
                 with_texture: bool = True,
                 texture_size: int = 256):
        self.face_model = face_model
        self.with_texture = with_texture
        self.texture_size = texture_size

    def _model(self, params: dict):
        path = params.get('face_model') or self.face_model
        return load_face_model(path)

    @staticmethod
    def _params(results: dict) -> dict:
        if 'synth_params' not in results:
            raise KeyError(
                'results has no "synth_params": this transform needs a '
                'synthetic data set (SyntheticFER3D / SyntheticFER4D / '
                'SyntheticMER4D)')
        return results['synth_params']

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(face_model={self.face_model!r}, '
                f'with_texture={self.with_texture}, '
                f'texture_size={self.texture_size})')


@TRANSFORMS.register_module()
class SynthesizeFaceMesh(_SynthesizeBase):
    """Synthesise the scan described by ``synth_params``.

    The counterpart of ``LoadMeshFromFile`` for the synthetic data sets
    (see :func:`mmfer4d.synthesis.synthesize`): a dense product
    of the ICT-FaceKit bases, head pose and seeded scanner noise, so the
    same parameters give identical vertices in every worker.

    Required Keys:

    - synth_params

    Added Keys:

    - mesh (:class:`~mmfer4d.structures.Mesh`): vertices in mm, faces,
      face_uvs, texture, 68 landmarks.

    Args:
        face_model (str, optional): npz path used when ``synth_params``
            names none. Defaults to None (default search).
        with_texture (bool): Attach texture and face_uvs. Defaults to True.
        texture_size (int): Texture side, pixels. Defaults to 256.
    """

    def transform(self, results: dict) -> dict:
        params = self._params(results)
        results['mesh'] = synthesize(
            params,
            self._model(params),
            with_texture=self.with_texture,
            texture_size=self.texture_size)
        return results


@TRANSFORMS.register_module()
class SynthesizeFaceSequence(_SynthesizeBase):
    """Synthesise frames of the sequence described by ``synth_params``.

    The counterpart of ``LoadMeshSequence``: only the frames in
    ``frame_inds`` (written by ``SampleFrames``) are made; without it,
    every frame.

    Required Keys:

    - synth_params (with ``envelope`` ``(T,)`` and ``pose`` ``(T, 3)``)

    Optional Keys:

    - frame_inds (np.ndarray): ``(T',)`` int64 frame indices.

    Added Keys:

    - meshes (list[:class:`~mmfer4d.structures.Mesh`]): length ``T'``.
    - frame_inds (np.ndarray): ``(T',)`` int64 (all frames if absent).

    Args:
        face_model (str, optional): npz path used when ``synth_params``
            names none. Defaults to None.
        with_texture (bool): Attach texture and face_uvs. Defaults to True.
        texture_size (int): Texture side, pixels. Defaults to 256.

    Raises:
        IndexError: If a frame index is outside the sequence.
    """

    def transform(self, results: dict) -> dict:
        params = self._params(results)
        num = len(params['envelope'])
        inds = results.get('frame_inds')
        inds = np.arange(num, dtype=np.int64) if inds is None else \
            np.asarray(inds, dtype=np.int64).ravel()
        results['meshes'] = synthesize_sequence(
            params,
            inds,
            self._model(params),
            with_texture=self.with_texture,
            texture_size=self.texture_size)
        results['frame_inds'] = inds
        return results
