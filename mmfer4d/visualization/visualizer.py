# Copyright (c) mmfer4d contributors. All rights reserved.
"""The runtime visualizer: mmpretrain's, with backends chosen by name.

mmengine's ``--cfg-options`` parser (``DictAction``) makes lists of numbers
and strings only, never of dicts, and merging ``visualizer.vis_backends.1``
into a one-element list raises an index error. So no command line can add
``dict(type='TensorboardVisBackend')`` to the stock visualizer. This one
also takes backends by name::

    --cfg-options visualizer.vis_backends=local,tensorboard
    --cfg-options visualizer.vis_backends=local,wandb      # W&B
"""
from typing import Dict, List, Sequence, Union

from mmengine.visualization import BaseVisBackend
from mmpretrain.visualization import UniversalVisualizer

from mmfer4d.registry import VISBACKENDS, VISUALIZERS

BackendSpec = Union[str, dict, BaseVisBackend]


def _registered_backends() -> Dict[str, str]:
    """``lower-case name -> type`` of every backend our scope resolves."""
    names, registry = {}, VISBACKENDS
    while registry is not None:
        registry.import_from_location()
        for key in registry.module_dict:
            names.setdefault(key.lower(), key)
        registry = registry.parent
    return names


def backend_configs(vis_backends: Union[BackendSpec, Sequence[BackendSpec],
                                        None]) -> List[BackendSpec]:
    """Backend configs from configs, built backends or names.

    Args:
        vis_backends: A backend or a list of them, each a config dict, a
            built backend, a registered type (``'TensorboardVisBackend'``)
            or its short name, case-insensitive (``'tensorboard'``,
            ``'local'``, ``'wandb'``, ``'mlflow'``, ...: the type without
            ``VisBackend``).

    Returns:
        list: Config dicts and built backends, in order.

    Raises:
        ValueError: If a name is no registered backend.
        TypeError: If an entry is of another type.
    """
    if vis_backends is None:
        return []
    if isinstance(vis_backends, (str, dict, BaseVisBackend)):
        vis_backends = [vis_backends]
    out, known = [], None
    for spec in vis_backends:
        if isinstance(spec, (dict, BaseVisBackend)):
            out.append(spec)
            continue
        if not isinstance(spec, str):
            raise TypeError('a visualizer backend is a config dict, a '
                            f'backend or a name, got {spec!r}')
        known = known or _registered_backends()
        key = spec.lower()
        found = known.get(key) or known.get(key + 'visbackend')
        if found is None:
            short = sorted(k[:-len('visbackend')] for k in known
                           if k.endswith('visbackend'))
            raise ValueError(f'unknown visualizer backend {spec!r}; known: '
                             f'{", ".join(short)}')
        out.append(dict(type=found))
    return out


@VISUALIZERS.register_module()
class FERVisualizer(UniversalVisualizer):
    """mmpretrain's ``UniversalVisualizer`` whose backends may be names.

    Args:
        name (str): The instance name. Defaults to 'visualizer'.
        vis_backends: Backend configs, built backends or names, see
            :func:`backend_configs`. Defaults to None (no backend).
        **kwargs: The other arguments of
            :class:`mmengine.visualization.Visualizer` (``save_dir``,
            ``image``, ...).

    Raises:
        ValueError: If a backend name is unknown.
    """

    def __init__(self, name='visualizer', vis_backends=None, **kwargs):
        super().__init__(
            name=name, vis_backends=backend_configs(vis_backends), **kwargs)
