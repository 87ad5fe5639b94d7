# Copyright (c) mmfer4d contributors. All rights reserved.
"""OBJ / PLY / OFF / STL / GLB / glTF through trimesh."""
import os
import os.path as osp

import numpy as np

from mmfer4d.structures import Mesh
from .errors import MeshReadError

#: Extensions read by :func:`read_trimesh`.
TRIMESH_EXTENSIONS = ('.obj', '.ply', '.off', '.stl', '.glb', '.gltf')


def read_trimesh(path, load_texture: bool = True) -> Mesh:
    """Read a mesh file with trimesh, without processing (no merging or
    reordering of vertices), scenes concatenated.

    Args:
        path (str | os.PathLike): An OBJ, PLY, OFF, STL, GLB or glTF file.
        load_texture (bool): Keep the texture image of a textured mesh.
            Defaults to True.

    Returns:
        Mesh: Vertices in the file's unit, triangles, and where the file
        has them ``face_uvs`` + ``texture`` or ``vertex_colors``.

    Raises:
        MeshReadError: If the file is missing, empty, unreadable by trimesh,
            holds no triangles, or has NaN / Inf coordinates or indices out
            of range.
    """
    import trimesh
    path = os.fspath(path)
    if not osp.isfile(path):
        raise MeshReadError(path, 'cannot open: No such file')
    if osp.getsize(path) == 0:
        raise MeshReadError(path, 'empty file')
    try:
        loaded = trimesh.load(path, force='mesh', process=False)
    except Exception as err:  # noqa: BLE001 (trimesh raises anything)
        raise MeshReadError(
            path, f'trimesh could not read it: {type(err).__name__}: {err}'
        ) from None
    if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0:
        raise MeshReadError(path, 'no triangles found')
    vertices = np.asarray(loaded.vertices, dtype=np.float64)
    faces = np.asarray(loaded.faces, dtype=np.int64)
    if not np.isfinite(vertices).all():
        raise MeshReadError(path, 'vertices contain NaN or Inf')
    if faces.min() < 0 or faces.max() >= len(vertices):
        raise MeshReadError(
            path, f'face index out of range [0, {len(vertices)})')
    face_uvs = texture = vertex_colors = None
    visual = loaded.visual
    if visual.kind == 'texture' and getattr(visual, 'uv', None) is not None \
            and len(visual.uv) == len(vertices):
        face_uvs = np.asarray(visual.uv, dtype=np.float32)[faces]
        image = getattr(visual.material, 'image', None)
        if image is None and hasattr(visual.material, 'baseColorTexture'):
            image = visual.material.baseColorTexture
        if load_texture and image is not None:
            texture = np.asarray(image.convert('RGB'), dtype=np.uint8).copy()
    elif visual.kind == 'vertex':
        vertex_colors = np.asarray(visual.vertex_colors)[:, :3].astype(
            np.uint8)
    return Mesh(
        vertices=vertices,
        faces=faces,
        face_uvs=face_uvs,
        texture=texture,
        vertex_colors=vertex_colors,
        metainfo=dict(path=path))


def write_trimesh(path, mesh: Mesh):
    """Write a mesh with trimesh; the format follows the extension.

    Vertex colours are kept where the format stores them (PLY, OFF, OBJ);
    texture and UVs are not written.

    Args:
        path (str | os.PathLike): Output file.
        mesh (Mesh): The mesh.
    """
    import trimesh
    out = trimesh.Trimesh(
        vertices=mesh.vertices.astype(np.float64),
        faces=mesh.faces,
        vertex_colors=mesh.vertex_colors,
        process=False)
    out.export(os.fspath(path))
