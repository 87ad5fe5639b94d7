# Copyright (c) mmfer4d contributors. All rights reserved.
"""The last step of every mesh reader: a validated, non-empty Mesh."""
from mmfer4d.structures import Mesh
from .errors import MeshReadError


def make_mesh(path: str, metainfo: dict, **arrays) -> Mesh:
    """Build a :class:`Mesh` and :meth:`~Mesh.validate` it.

    Args:
        path (str): The file read, for messages.
        metainfo (dict): The mesh's metainfo (``'path'`` set by the reader).
        **arrays: ``vertices``, ``faces`` and the optional arrays.

    Returns:
        Mesh: A mesh with at least one vertex and one triangle, every index
        in range and every value finite in float32.

    Raises:
        MeshReadError: If it has no vertex or no triangle, or fails
            validation (the reason named).
    """
    try:
        mesh = Mesh(**arrays).validate()
    except ValueError as err:
        raise MeshReadError(path, str(err)) from None
    if mesh.num_vertices == 0 or mesh.num_faces == 0:
        raise MeshReadError(path, f'empty geometry: {mesh.num_vertices} '
                            f'vertices, {mesh.num_faces} triangles')
    mesh.metainfo = metainfo
    return mesh
