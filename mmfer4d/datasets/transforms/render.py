# Copyright (c) mmfer4d contributors. All rights reserved.
"""Rendering of face meshes into multi-view images."""
import hashlib
from typing import Optional, Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform

from mmfer4d.registry import TRANSFORMS
from mmfer4d.rendering.multiview_renderer import MultiViewRenderer
from mmfer4d.rendering.render_cache import (RenderCache, file_identity,
                                            split_views)
from mmfer4d.structures.mesh import Mesh

#: A key in ``results`` whose presence marks a randomly changed mesh
#: (``RandomMeshAugment`` writes its drawn parameters there); such samples
#: never use the render cache.
AUGMENT_KEY = 'mesh_augment'


@TRANSFORMS.register_module()
class RenderMultiView(BaseTransform):
    """Render the mesh (or each frame's mesh) from several views.

    Uses :class:`~mmfer4d.rendering.MultiViewRenderer` (by default the
    numba z-buffer backend, single-threaded, no GL). View sign convention:
    ``'left'`` = yaw +45 degrees, the subject's own left cheek; ``'right'``
    = yaw -45; ``'up'`` / ``'down'`` = camera 30 degrees above / below (see
    :mod:`mmfer4d.rendering.cameras`).

    Required Keys:

    - mesh (Mesh) for a scan, or meshes (list[Mesh], length T) for a
      sequence

    Modified Keys:

    - None (the meshes are left in place)

    Added Keys:

    - img (list[np.ndarray] | list[list[np.ndarray]]): V ``(H, W, C)`` uint8
      views for a scan, or T lists of V views for a sequence; channels are
      the modalities' channels concatenated in ``modalities`` order
      (``'depth'`` 1, ``'normal'`` 3, ``'rgb'`` 3, ``'shading'`` 1,
      ``'mask'`` 1).
    - img_shape (tuple[int, int]): ``(H, W)``.
    - view_angles (list[tuple[float, float, float]]): V ``(yaw, pitch,
      roll)`` in degrees.
    - modalities (tuple[str]): The rendered modalities.
    - landmarks_2d (np.ndarray | list[np.ndarray]): When the mesh has
      landmarks: ``(V, L, 2)`` float32 pixel coordinates ``(x, y)`` of each
      landmark in each view (x right, y down, pixel ``(i, j)`` spans ``[j,
      j + 1) x [i, i + 1)``), or T such arrays for a sequence.
    - landmarks_2d_visible (np.ndarray | list[np.ndarray]): ``(V, L)`` bool
      (or T of them): in front of the camera, inside the image and not
      occluded (rendered depth within ``landmark_tol_mm``).

    Render cache: with ``cache=dict(dir=..., max_mb=...)`` the uint8 views of
    deterministic samples are stored on disk and read back on later epochs.
    A sample is cached only if (a) its mesh has a source file
    (``mesh.metainfo['path']``, else ``results['mesh_path']`` for a scan) and
    (b) ``results`` has no ``'mesh_augment'`` key (written by
    ``RandomMeshAugment``). The key holds the file identity (absolute path,
    size, mtime), every render parameter and a fingerprint of the mesh
    handed in (vertex / face counts and a hash of the vertices), so a changed
    upstream normalisation misses instead of returning stale views; the
    projected landmarks are cached beside the views. Put the cache only in
    test / val pipelines.

    Guards: a size over the memory cap (``max_memory_mb``, default 2048) or
    not an int is refused at construction; a view covering less than
    ``min_coverage`` (default 1 %) of its pixels raises (``on_blank``), so
    blank renders never pass silently into training.

    Args:
        views (Sequence): View names or ``(yaw, pitch, roll)`` tuples in
            degrees. Defaults to ``('front', 'left', 'right')``.
        size (int | tuple[int, int]): Image size in px, ``S`` or ``(H, W)``.
            Defaults to 112.
        modalities (Sequence[str]): Defaults to ``('depth', 'normal')``.
        ortho (bool): Orthographic projection, else perspective. Defaults to
            True.
        fov (float): Perspective field of view in degrees. Defaults to 30.
        extent_mm (float | str): Half-width of the image in mm about the
            centre, or ``'auto'``. Defaults to 95 (a nose-tip-centred face
            cropped to a 90 mm sphere).
        backend (str): Rendering backend by name
            (:data:`~mmfer4d.rendering.RENDER_BACKENDS`). Defaults to
            ``'numba'``.
        cache (dict, optional): ``dict(dir=str, max_mb=float)`` for an
            on-disk :class:`~mmfer4d.rendering.RenderCache`. Defaults to None.
        **renderer_kwargs: Other :class:`MultiViewRenderer` arguments
            (``center``, ``camera_distance_mm``, ``depth_range_mm``,
            ``light_dir``, ``ambient``, ``margin``, ``near_mm``,
            ``backend_args``, ``min_coverage``, ``on_blank``,
            ``max_memory_mb``, ``project_landmarks``, ``landmark_tol_mm``).

    Raises:
        ValueError: On an unknown view, modality or backend or a bad size
            (at construction), or a missing, empty or unrenderable mesh or a
            blank view (at call; the message names the file).
    """

    def __init__(self,
                 views: Sequence = ('front', 'left', 'right'),
                 size: Union[int, Tuple[int, int]] = 112,
                 modalities: Sequence[str] = ('depth', 'normal'),
                 ortho: bool = True,
                 fov: float = 30.0,
                 extent_mm: Union[float, str] = 95.0,
                 backend: str = 'numba',
                 cache: Optional[dict] = None,
                 **renderer_kwargs):
        self.renderer = MultiViewRenderer(
            views=views,
            size=size,
            modalities=modalities,
            ortho=ortho,
            fov=fov,
            extent_mm=extent_mm,
            backend=backend,
            **renderer_kwargs)
        self._render_params = dict(
            views=self.renderer.view_angles.tolist(),
            size=list(self.renderer.size),
            modalities=list(self.renderer.modalities),
            ortho=self.renderer.ortho,
            fov=self.renderer.fov,
            extent_mm=extent_mm,
            backend=backend,
            **{k: (list(v) if isinstance(v, (tuple, list)) else v)
               for k, v in sorted(renderer_kwargs.items())})
        if cache is not None:
            if not isinstance(cache, dict) or 'dir' not in cache:
                raise ValueError(f'cache must be dict(dir=..., max_mb=...), '
                                 f'got {cache!r}')
            cache = RenderCache(**cache)
        self.cache = cache

    def _with_landmarks(self, mesh: Mesh) -> bool:
        return (self.renderer.project_landmarks and mesh.landmarks is not None
                and len(mesh.landmarks) > 0)

    def _cache_key(self, mesh: Mesh, path: Optional[str]):
        ident = file_identity(path) if path else None
        if ident is None:
            return None

        def digest(array):
            return hashlib.blake2b(
                np.ascontiguousarray(array).tobytes(),
                digest_size=16).hexdigest()

        return dict(
            file=list(ident),
            mesh=[mesh.num_vertices, mesh.num_faces,
                  digest(mesh.vertices)],
            texture=None if mesh.texture is None else list(mesh.texture.shape),
            landmarks=digest(mesh.landmarks)
            if self._with_landmarks(mesh) else None,
            render=self._render_params)

    def _render_one(self, mesh, path, use_cache):
        """``(views, landmarks_2d, landmarks_2d_visible)``; the last two
        None without landmarks."""
        if not isinstance(mesh, Mesh):
            raise ValueError(f'RenderMultiView needs a Mesh, got '
                             f'{type(mesh).__name__}')
        with_lm = self._with_landmarks(mesh)
        key = None
        if use_cache:
            key = self._cache_key(mesh, mesh.path or path)
            if key is not None:
                hit = self.cache.get(key)
                # Landmarks as (V, L, 3): x, y and visibility.
                lm = self.cache.get(dict(key, part='landmarks')) \
                    if with_lm and hit is not None else None
                if hit is not None and (lm is not None or not with_lm):
                    return (split_views(hit), None if lm is None else
                            lm[..., :2].copy(), None if lm is None else
                            lm[..., 2] > 0)
        out = self.renderer.render(mesh)
        if key is not None:
            self.cache.put(key, out.images)
            if with_lm:
                self.cache.put(
                    dict(key, part='landmarks'),
                    np.concatenate([
                        out.landmarks_2d,
                        out.landmarks_visible[..., None].astype(np.float32)
                    ], -1))
        return (split_views(out.images), out.landmarks_2d,
                out.landmarks_visible)

    def transform(self, results: dict) -> dict:
        use_cache = self.cache is not None and AUGMENT_KEY not in results
        if 'mesh' in results:
            img, lm, vis = self._render_one(results['mesh'],
                                            results.get('mesh_path'),
                                            use_cache)
        elif 'meshes' in results:
            frames = [
                self._render_one(mesh, None, use_cache)
                for mesh in results['meshes']
            ]
            img = [f[0] for f in frames]
            lm = [f[1] for f in frames]
            vis = [f[2] for f in frames]
            if any(x is None for x in lm):
                lm = vis = None
        else:
            raise ValueError("RenderMultiView needs results['mesh'] or "
                             "results['meshes']; got keys "
                             f'{sorted(results)}')
        results['img'] = img
        if lm is not None:
            results['landmarks_2d'] = lm
            results['landmarks_2d_visible'] = vis
        else:
            # No stale landmarks of an earlier render of this dict.
            results.pop('landmarks_2d', None)
            results.pop('landmarks_2d_visible', None)
        results['img_shape'] = self.renderer.size
        results['view_angles'] = [
            tuple(float(a) for a in ang) for ang in self.renderer.view_angles
        ]
        results['modalities'] = self.renderer.modalities
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(renderer={self.renderer!r}, '
                f'cache={self.cache!r})')
