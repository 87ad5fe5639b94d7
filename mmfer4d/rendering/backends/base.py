# Copyright (c) mmfer4d contributors. All rights reserved.
"""The interface of a rendering backend, and the backends by name.

A backend turns a :class:`~mmfer4d.rendering.mesh_batch.MeshBatch` (B
checked meshes), :class:`~mmfer4d.rendering.projection.Cameras` (V views
per mesh) and :class:`RenderSettings` into a :class:`BatchRenderOutput`.
The front, :class:`~mmfer4d.rendering.MultiViewRenderer`, owns everything
else: argument checks, mesh checks, the cameras, landmark projection, the
memory cap and the blank-render guard. So a backend only draws, with the
conventions of :mod:`mmfer4d.rendering.projection` (pixel centres, y down,
depth along the viewing axis) and :mod:`mmfer4d.rendering.modalities`
(channels, their order and encodings); the ``numba`` backend is the
reference the others are tested against.

Backends are registered by name (:func:`register_render_backend`) and
chosen with ``MultiViewRenderer(backend=NAME, backend_args=dict(...))``.
The built-in ones are imported on first use, so a process that renders
with one never imports the others' dependencies.
"""
import importlib
from abc import ABCMeta, abstractmethod
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple, Type

import numpy as np

from ..mesh_batch import MeshBatch
from ..projection import Cameras


@dataclass(frozen=True)
class RenderSettings:
    """What to draw, beyond the cameras.

    Attributes:
        modalities (tuple[str]): Checked modalities, in channel order.
        depth_range_mm (float, optional): Half-width of the fixed window
            about the centre mapped to the 8-bit depth, mm; None normalises
            each view's foreground min..max to 255..1.
        light_dir (tuple[float, float, float]): Unit light direction in the
            camera frame (towards the light), for ``'shading'``.
        ambient (float): Ambient term of the shading, in [0, 1].
    """

    modalities: Tuple[str, ...]
    depth_range_mm: Optional[float]
    light_dir: Tuple[float, float, float]
    ambient: float


@dataclass
class BatchRenderOutput:
    """What a backend returns for B meshes and V views.

    Arrays are numpy for CPU backends; a device backend may return torch
    tensors on its device (same shapes and dtypes).

    Attributes:
        images (np.ndarray): ``(B, V, H, W, C)`` uint8, the modalities'
            channels concatenated in order; background 0.
        depth (np.ndarray, optional): ``(B, V, H, W)`` float32 depth in mm
            along the viewing axis, background 0; when asked for.
        face_index (np.ndarray, optional): ``(B, V, H, W)`` int32 visible
            triangle (index into that mesh's own faces), -1 for background;
            when asked for.
        coverage (np.ndarray): ``(B, V)`` float64 fraction of each view's
            pixels covered by the mesh, numpy (always returned: the front's
            blank-render guard reads it).
        landmarks_2d (list[np.ndarray | None]): Filled by the front: B
            ``(V, L_b, 2)`` float32 landmark pixel coordinates, None for a
            mesh without landmarks.
        landmarks_visible (list[np.ndarray | None]): Filled by the front: B
            ``(V, L_b)`` bool.
    """

    images: Any
    depth: Optional[Any]
    face_index: Optional[Any]
    coverage: np.ndarray
    landmarks_2d: Optional[List[Optional[np.ndarray]]] = None
    landmarks_visible: Optional[List[Optional[np.ndarray]]] = None


class BaseRenderBackend(metaclass=ABCMeta):
    """A way to draw meshes: subclass, implement :meth:`render`, register.

    Args:
        **kwargs: Backend options (``MultiViewRenderer(backend_args=...)``).

    Example:
        >>> @register_render_backend('mine')
        ... class MyBackend(BaseRenderBackend):
        ...     def render(self, batch, cameras, settings,
        ...                return_depth=False, return_face_index=False):
        ...         ...
    """

    #: Name under which the class is registered (set by
    #: :func:`register_render_backend`).
    name: str = ''
    #: Largest image side in px the backend draws correctly.
    max_image_side: int = 1 << 14

    def __init__(self, **kwargs):
        if kwargs:
            raise TypeError(f'{type(self).__name__} takes no options, got '
                            f'{sorted(kwargs)}')

    def scratch_bytes_per_pixel(self, num_views: int, num_channels: int,
                                batch_size: int = 1) -> int:
        """Working memory per image pixel beside the outputs, for the
        front's memory cap. Defaults to 0."""
        return 0

    @abstractmethod
    def render(self,
               batch: MeshBatch,
               cameras: Cameras,
               settings: RenderSettings,
               return_depth: bool = False,
               return_face_index: bool = False) -> BatchRenderOutput:
        """Draw every view of every mesh.

        Args:
            batch (MeshBatch): B checked meshes (``batch.meshes``, or the
                ``batch.packed()`` / ``batch.padded()`` layouts).
            cameras (Cameras): ``cameras.num_meshes == B``; mesh ``b`` is
                seen through ``rotations`` about ``centers[b]`` with
                ``scales[b]`` and ``distances[b]``.
            settings (RenderSettings): Modalities and shading.
            return_depth (bool): Also return float depth. Defaults to False.
            return_face_index (bool): Also return triangle ids. Defaults to
                False.

        Returns:
            BatchRenderOutput: Images, coverage, and what was asked.
        """

    def __repr__(self) -> str:
        return f'{type(self).__name__}()'


#: Registered backends, ``name -> class``.
RENDER_BACKENDS: Dict[str, Type[BaseRenderBackend]] = {}
# Built-in backends, imported (and so registered) on first use.
_BUILTIN_BACKENDS = {
    'numba': 'mmfer4d.rendering.backends.numba_backend',
    'torch': 'mmfer4d.rendering.backends.torch_backend'
}


def register_render_backend(name: str,
                            backend: Optional[Type[BaseRenderBackend]] = None,
                            force: bool = False):
    """Register a backend class under ``name``; a decorator without
    ``backend``.

    Args:
        name (str): The name ``MultiViewRenderer(backend=...)`` takes.
        backend (type, optional): A :class:`BaseRenderBackend` subclass.
            Defaults to None (return a decorator).
        force (bool): Replace a backend of the same name. Defaults to False.

    Raises:
        TypeError: If ``name`` is not a str or ``backend`` not a
            :class:`BaseRenderBackend` subclass.
        KeyError: If ``name`` is taken and ``force`` is False.
    """
    if not isinstance(name, str):
        raise TypeError(f'a backend name must be a str, got {name!r}')

    def _register(cls):
        if not (isinstance(cls, type) and issubclass(cls, BaseRenderBackend)):
            raise TypeError(f'a render backend must subclass '
                            f'BaseRenderBackend, got {cls!r}')
        if name in RENDER_BACKENDS and not force:
            raise KeyError(f'render backend {name!r} is already registered '
                           f'as {RENDER_BACKENDS[name].__name__}; pass '
                           f'force=True to replace it')
        cls.name = name
        RENDER_BACKENDS[name] = cls
        return cls

    return _register if backend is None else _register(backend)


def build_render_backend(name: str, **kwargs) -> BaseRenderBackend:
    """An instance of the backend registered as ``name``.

    Raises:
        ValueError: If no backend has that name.
    """
    if name not in RENDER_BACKENDS and name in _BUILTIN_BACKENDS:
        importlib.import_module(_BUILTIN_BACKENDS[name])
    if name not in RENDER_BACKENDS:
        known = sorted(set(RENDER_BACKENDS) | set(_BUILTIN_BACKENDS))
        raise ValueError(f'unknown render backend {name!r}; registered: '
                         f'{known}')
    return RENDER_BACKENDS[name](**kwargs)
