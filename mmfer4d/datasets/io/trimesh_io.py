# Copyright (c) mmfer4d contributors. All rights reserved.
"""STL / GLB / glTF through trimesh, and the trimesh-based writer.

OBJ, PLY and OFF have their own strict readers (:mod:`.obj`, :mod:`.ply`,
:mod:`.off`): trimesh builds partial or wrong meshes from files whose
counts lie. The formats left to trimesh here are binary with sizes that
are checked before it runs (STL) or structured containers (glTF), and the
mesh it returns goes through the same validation as every reader's.
"""
import os
import struct

import numpy as np

from mmfer4d.structures import Mesh
from ._mesh import make_mesh
from ._source import as_path, read_bytes
from .errors import MeshReadError

#: Extensions read by :func:`read_trimesh`.
TRIMESH_EXTENSIONS = ('.stl', '.glb', '.gltf')


def _check_stl(path: str, raw: bytes):
    if raw.lstrip()[:5].lower() == b'solid' and b'facet' in raw[:4096]:
        return  # ASCII STL
    if len(raw) < 84:
        raise MeshReadError(path, f'truncated binary STL ({len(raw)} bytes, '
                            'the header alone is 84)', offset=len(raw))
    (count, ) = struct.unpack_from('<I', raw, 80)
    if len(raw) != 84 + 50 * count:
        raise MeshReadError(
            path, f'binary STL declares {count} triangles ({84 + 50 * count}'
            f' bytes) but holds {len(raw)} bytes (truncated, or a count that '
            'lies)', offset=80)


def read_trimesh(path, load_texture: bool = True) -> Mesh:
    """Read an STL, GLB or glTF mesh with trimesh, without processing (no
    merging or reordering of vertices), scenes concatenated.

    Args:
        path (str | bytes | os.PathLike): The file.
        load_texture (bool): Keep the texture image of a textured mesh.
            Defaults to True.

    Returns:
        Mesh: Vertices in the file's unit, triangles, and where the file
        has them ``face_uvs`` + ``texture`` or ``vertex_colors``.

    Raises:
        MeshReadError: If the file is missing, empty, over
            ``ReadLimits.max_bytes``, a binary STL whose size does not match
            its triangle count, unreadable by trimesh, holds no triangles,
            or fails :meth:`Mesh.validate`.
    """
    import trimesh
    path = as_path(path)
    raw = read_bytes(path, 'mesh file')
    if not raw.strip():
        raise MeshReadError(path, 'empty file')
    ext = os.path.splitext(path.lower())[1]
    if ext == '.stl':
        _check_stl(path, raw)
    try:
        import io
        loaded = trimesh.load(io.BytesIO(raw), file_type=ext[1:],
                              force='mesh', process=False,
                              resolver=trimesh.resolvers.FilePathResolver(
                                  path))
    except Exception as err:  # noqa: BLE001 (trimesh raises anything)
        raise MeshReadError(
            path, f'trimesh could not read it: {type(err).__name__}: '
            f'{str(err)[:200]}') from None
    if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0:
        raise MeshReadError(path, 'no triangles found')
    vertices = np.asarray(loaded.vertices, dtype=np.float64)
    faces = np.asarray(loaded.faces, dtype=np.int64)
    face_uvs = texture = vertex_colors = None
    visual = loaded.visual
    if visual.kind == 'texture' and getattr(visual, 'uv', None) is not None \
            and len(visual.uv) == len(vertices) and faces.size and \
            faces.min() >= 0 and faces.max() < len(vertices):
        face_uvs = np.asarray(visual.uv, dtype=np.float64)[faces]
        image = getattr(visual.material, 'image', None)
        if image is None and hasattr(visual.material, 'baseColorTexture'):
            image = visual.material.baseColorTexture
        if load_texture and image is not None:
            texture = np.asarray(image.convert('RGB'), dtype=np.uint8).copy()
    elif visual.kind == 'vertex':
        vertex_colors = np.asarray(visual.vertex_colors)[:, :3].astype(
            np.uint8)
    return make_mesh(path, dict(path=path), vertices=vertices, faces=faces,
                     face_uvs=face_uvs, texture=texture,
                     vertex_colors=vertex_colors)


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
    out.export(as_path(path))
