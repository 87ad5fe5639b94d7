# Copyright (c) mmfer4d contributors. All rights reserved.
"""VRML97 (VRML 2.0) face scans (BU-3DFE, BU-4DFE): reader and writer.

The scanner software of BU-3DFE and BU-4DFE nests the geometry in a
grouping node::

    #VRML V2.0 utf8
    #<exporter comment line>
    DEF <name> Transform {
      children [
        Shape {
          appearance Appearance { texture ImageTexture { url "<stem>.bmp" } }
          geometry IndexedFaceSet {
            ccw TRUE  solid FALSE
            coord Coordinate { point [ x y z, x y z, ... ] }
            coordIndex [ a, b, c, -1, a, b, c, d, -1, ... ]
            texCoord TextureCoordinate { point [ u v, u v, ... ] }
            texCoordIndex [ ... ]
          }
        }
      ]
    }
    DEF <name> Viewpoint { ... }

:func:`read_vrml` reads that and any other scene of the VRML97 grammar
(:mod:`.vrml_parser`) that draws ``IndexedFaceSet`` shapes: grouping nodes
nested to any depth, ``DEF`` / ``USE``, several shapes, ``Transform``
fields applied (:mod:`.vrml_scene`). Polygons of any size are
fan-triangulated; texture coordinates have their own list and count,
indexed per corner by ``texCoordIndex`` (by ``coordIndex`` when it is
absent or empty, VRML97 clause 6.23).
"""
import os.path as osp
import warnings
from typing import List, Optional

import numpy as np

from mmfer4d.structures import Mesh
from ._image import load_texture as _load_texture
from ._mesh import make_mesh
from ._source import as_path, decode_text, read_bytes
from .errors import MeshReadError, display_path
from .limits import get_read_limits
from .vrml_scene import Part, Scene, face_set_arrays

_HEADER = '#VRML V2.0'


def _read_scene(path: str) -> Scene:
    raw = read_bytes(path, 'VRML file')
    if not raw.strip():
        raise MeshReadError(path, 'empty file')
    text = decode_text(raw)[0]
    if not text.startswith(_HEADER):
        raise MeshReadError(
            path, f'not a VRML 2.0 file: header is {text[:16]!r}, '
            "expected '#VRML V2.0 utf8'", line=1)
    limits = get_read_limits()
    return Scene(path, text, limits.max_tokens, limits.max_depth,
                 limits.max_shapes)


def _texture_urls(scene: Scene, part: Part) -> tuple:
    appearance = scene.child(part.shape, 'appearance', 'Appearance')
    image = scene.child(appearance, 'texture', 'ImageTexture')
    if image is None:
        return ()
    return tuple(scene.strings(image, 'url'))


def _candidates(path: str, urls) -> List[str]:
    folder = osp.dirname(path)
    out = []
    for url in urls:
        if url.startswith('file://'):
            url = url[7:]
        elif url.startswith('file:'):
            url = url[5:]
        if url and '://' not in url:
            out.append(osp.join(folder, url))
    return out


def read_vrml(path, load_texture: bool = True) -> Mesh:
    """Read a VRML97 face scan into one triangle mesh.

    Every ``Shape`` whose geometry is an ``IndexedFaceSet`` and that the
    scene graph draws is read, its ``Transform`` s applied to its
    coordinates (a mirroring transform also reverses the triangles'
    winding), and all are merged into one mesh. Texture policy: the merged
    mesh keeps ``face_uvs`` and the texture only when every shape has
    texture coordinates and all name the same image (or none does), since
    a :class:`Mesh` holds one image; otherwise it keeps the geometry and
    warns. ``vertex_colors`` are kept when every shape has them.

    Args:
        path (str | bytes | os.PathLike): The ``.wrl`` file, gzipped or not
            (``.wrl.gz``, ``.wrz``: recognised by the gzip magic).
        load_texture (bool): Read the ``ImageTexture`` image (BMP, PNG,
            JPEG via PIL), its ``url`` resolved relative to the ``.wrl``
            file, the first that exists. A missing or unreadable image only
            warns: the geometry still loads. Defaults to True.

    Returns:
        Mesh: Vertices in the file's unit (mm for BU-3DFE / BU-4DFE),
        triangles, ``face_uvs`` ``(F, 3, 2)`` when the shapes have texture
        coordinates, ``texture`` when loaded, ``vertex_colors`` from
        per-vertex ``Color`` nodes. ``metainfo`` holds ``'path'``,
        ``'num_shapes'`` and, when the file names one, ``'texture_path'``.

    Raises:
        MeshReadError: If the file is missing, empty, not VRML 2.0, over a
            :class:`~.limits.ReadLimits` bound, or not valid VRML97 (the
            line is given); if no drawn shape has an ``IndexedFaceSet`` or
            none has a triangle; if a list is truncated, a number malformed,
            NaN, Inf or beyond float32, a point list's count is not a
            multiple of its dimension, an index out of range, or
            ``texCoordIndex`` does not match ``coordIndex``.
    """
    path = as_path(path)
    scene = _read_scene(path)
    if not scene.parts:
        found = ', '.join(sorted({n.type for n in scene.roots})) or 'none'
        extra = (f'; shapes of {", ".join(sorted(scene.ignored))} are not '
                 'read') if scene.ignored else ''
        raise MeshReadError(
            path, 'no IndexedFaceSet node found in the scene graph (top-level'
            f' nodes: {found}{extra})')
    if scene.ignored:
        warnings.warn(f'{display_path(path)}: shapes of '
                      f'{", ".join(sorted(scene.ignored))} are not read')
    arrays = _face_sets(scene)
    vertices, faces, face_uvs = _merge(scene, arrays)
    vertex_colors = None
    if all(a['vertex_colors'] is not None for a in arrays):
        vertex_colors = np.concatenate([a['vertex_colors'] for a in arrays])
    urls = _texture_choice(scene, arrays, face_uvs is not None)
    if urls is None:
        urls, face_uvs = (), None
    texture, texture_path = _load_texture(path, _candidates(path, urls),
                                          load_texture)
    return make_mesh(
        path,
        dict(path=path, num_shapes=len(scene.parts)),
        texture_path,
        vertices=vertices,
        faces=faces,
        face_uvs=face_uvs,
        texture=texture,
        vertex_colors=vertex_colors)


def _face_sets(scene: Scene) -> List[dict]:
    """The arrays of every part (a USEd face set parsed once), bounded."""
    limits = get_read_limits()
    cache, arrays = {}, []
    num_vertices = num_faces = 0
    for part in scene.parts:
        key = id(part.face_set)
        if key not in cache:
            cache[key] = face_set_arrays(scene, part.face_set)
        data = cache[key]
        num_vertices += len(data['vertices'])
        num_faces += len(data['faces'])
        if num_vertices > limits.max_vertices or \
                num_faces > limits.max_faces:
            raise MeshReadError(
                scene.path, f'the scene holds over {limits.max_vertices} '
                f'vertices or {limits.max_faces} triangles '
                '(ReadLimits.max_vertices / max_faces)')
        arrays.append(data)
    if num_faces == 0:
        raise MeshReadError(scene.path, 'no triangle: ' + '; '.join(
            sorted({a['empty'] for a in arrays if a['empty']})))
    return arrays


def _merge(scene: Scene, arrays: List[dict]):
    """World coordinates, offset triangles and (when every part has them)
    per-corner UVs of all parts; a mirroring transform reverses the
    winding of its part."""
    vertices, faces, uvs, offset = [], [], [], 0
    for part, data in zip(scene.parts, arrays):
        points, tri, uv = data['vertices'], data['faces'], data['face_uvs']
        linear = part.matrix[:3, :3]
        if not np.array_equal(part.matrix, np.eye(4)):
            with np.errstate(over='ignore', invalid='ignore'):
                points = points @ linear.T + part.matrix[:3, 3]
            if np.linalg.det(linear) < 0:
                tri = tri[:, ::-1]
                uv = None if uv is None else uv[:, ::-1]
        vertices.append(points)
        faces.append(tri + offset)
        uvs.append(uv)
        offset += len(points)
    face_uvs = None
    if all(uv is not None for uv in uvs):
        face_uvs = np.concatenate(uvs)
    return np.concatenate(vertices), np.concatenate(faces), face_uvs


def _texture_choice(scene: Scene, arrays: List[dict], all_uv: bool):
    """The ``url`` list of the merged mesh's texture (see the texture
    policy of :func:`read_vrml`); None, with a warning, when the texture
    and texture coordinates are dropped."""
    urls = {_texture_urls(scene, part) for part in scene.parts}
    if len(urls) > 1:
        named = sorted({osp.basename(u[0]) for u in urls if u})
        warnings.warn(
            f'{display_path(scene.path)}: {len(scene.parts)} shapes name '
            f'different textures ({", ".join(named)}, or none); a mesh '
            'holds one image: texture dropped, geometry merged')
        return None
    has_uv = sum(a['face_uvs'] is not None for a in arrays)
    if not all_uv and has_uv:
        warnings.warn(
            f'{display_path(scene.path)}: only {has_uv} of {len(arrays)} '
            'shapes have texture coordinates; texture dropped, geometry '
            'merged')
        return None
    return urls.pop()


def _rows(arr: np.ndarray, fmt: str, sep: str, indent: str) -> str:
    """One line per row, values joined by ``sep``, rows by commas."""
    return ',\n'.join(indent + sep.join(fmt % v for v in row)
                      for row in arr.tolist())


def write_vrml(path, mesh: Mesh, texture_filename: Optional[str] = None):
    """Write a mesh in the layout of BU-3DFE / BU-4DFE scans.

    One ``DEF <stem> Transform { children [ Shape { ... } ] }`` (identity
    transform) holding an ``IndexedFaceSet`` of triangles ``a, b, c, -1``;
    per-corner texture coordinates are de-duplicated into their own
    ``TextureCoordinate`` list and ``texCoordIndex``. Floats use 9
    significant digits, so float32 values survive a round trip exactly.
    Three ``Viewpoint`` nodes follow, as in the scanner's files.

    Args:
        path (str | os.PathLike): Output ``.wrl`` file.
        mesh (Mesh): The mesh.
        texture_filename (str, optional): File name written in the
            ``ImageTexture`` ``url``, relative to ``path``. When
            ``mesh.texture`` is set the image is saved there (format from the
            extension). Defaults to ``<stem>.bmp`` when the mesh has a
            texture; with no texture and no name, no ``appearance`` is
            written. A name without a texture writes the ``url`` only (a
            scan whose image is missing).
    """
    path = as_path(path)
    stem = osp.splitext(osp.basename(path))[0]
    if mesh.texture is not None and texture_filename is None:
        texture_filename = stem + '.bmp'
    name = ''.join(ch if ch.isalnum() else '_' for ch in stem) or 'scan'
    if name[0].isdigit():
        name = '_' + name
    out = ['#VRML V2.0 utf8', '', '# Written by mmfer4d, in the layout of '
           'BU-3DFE / BU-4DFE scans', f'DEF {name} Transform {{',
           '  children [', '    Shape {']
    if texture_filename is not None:
        out += [
            '      appearance Appearance {',
            '        texture ImageTexture {',
            f'          url "{texture_filename}"', '        }', '      }'
        ]
    out += ['      geometry IndexedFaceSet {', '        ccw TRUE',
            '        solid FALSE', '        coord Coordinate {',
            '          point [']
    out.append(_rows(mesh.vertices.astype(np.float64), '%.9g', ' ', ' ' * 12))
    out += ['          ]', '        }', '        coordIndex [']
    faces = np.concatenate(
        [mesh.faces.astype(np.int64),
         -np.ones((mesh.num_faces, 1), np.int64)], axis=1)
    out.append(_rows(faces, '%d', ', ', ' ' * 10))
    out.append('        ]')
    if mesh.face_uvs is not None:
        uv, inverse = np.unique(
            mesh.face_uvs.reshape(-1, 2), axis=0, return_inverse=True)
        tidx = np.concatenate([
            inverse.reshape(-1, 3).astype(np.int64),
            -np.ones((mesh.num_faces, 1), np.int64)
        ], axis=1)
        out += ['        texCoord TextureCoordinate {', '          point [']
        out.append(_rows(uv.astype(np.float64), '%.9g', ' ', ' ' * 12))
        out += ['          ]', '        }', '        texCoordIndex [']
        out.append(_rows(tidx, '%d', ', ', ' ' * 10))
        out.append('        ]')
    out += ['      }', '    }', '  ]', '}']
    for view, pos, rot in (('Front', '0 0 500', '0 1 0 0'),
                           ('Left', '-500 0 0', '0 1 0 -1.5708'),
                           ('Right', '500 0 0', '0 1 0 1.5708')):
        out.append(f'DEF {view} Viewpoint {{ position {pos} '
                   f'orientation {rot} description "{view}" }}')
    with open(path, 'w', encoding='utf-8') as f:
        f.write('\n'.join(out) + '\n')
    if mesh.texture is not None:
        from PIL import Image
        Image.fromarray(np.ascontiguousarray(mesh.texture, np.uint8)).save(
            osp.join(osp.dirname(path), texture_filename))
