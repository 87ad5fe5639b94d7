# Copyright (c) mmfer4d contributors. All rights reserved.
"""Constants, parameter layout and per-call mesh preparation of the kernels.

Shared by :mod:`.rasterize` and :mod:`.shade`; the passes and conventions
are described in :mod:`mmfer4d.rendering.kernels`.
"""
import numpy as np
from numba import njit

SUBPIXEL_BITS = 16
_ONE = 1 << SUBPIXEL_BITS
_HALF = _ONE >> 1
# Screen positions are clamped to +-2**14 px so fixed-point values fit in
# int32 and their products stay far below int64 overflow (2**30 * 2**30 * 2).
_CLAMP_PX = float(1 << 14)
#: Depth key of an empty pixel (below every key a surface can have).
ZBUF_EMPTY = -(1 << 31)

# Indices into the float64 parameter vector shared by the kernels.
P_ORTHO = 0  # 1.0 orthographic, 0.0 perspective
P_SCALE = 1  # px per mm (ortho) or focal length in px (perspective)
P_CX = 2  # principal point x, px
P_CY = 3  # principal point y, px
P_CAM_DIST = 4  # camera distance from the centre, mm
P_NEAR = 5  # perspective near plane, mm
P_DEPTH_RANGE = 6  # half-width of the 8-bit depth window, mm; <= 0: min-max
P_LIGHT_X = 7  # light direction in the camera frame (unit vector)
P_LIGHT_Y = 8
P_LIGHT_Z = 9
P_AMBIENT = 10  # ambient term of the Lambertian shading, in [0, 1]
P_CENTER_X = 11  # face centre in world coordinates, mm
P_CENTER_Y = 12
P_CENTER_Z = 13
NUM_PARAMS = 14

# Indices into the int64 channel-offset vector (-1: modality not rendered).
C_DEPTH = 0
C_NORMAL = 1
C_RGB = 2
C_SHADING = 3
C_MASK = 4
NUM_CHANNEL_SLOTS = 5

_JIT = dict(cache=True, nogil=True, error_model='numpy')
# Shading only: multiply-adds may be fused (no other fast-math licence).
_JIT_FMA = dict(_JIT, fastmath={'contract'})


@njit(**_JIT)
def vertex_normals(vertices, faces, out):
    """Area-weighted unit vertex normals (right-hand winding).

    Args:
        vertices (np.ndarray): ``(N, 3)`` float32, mm.
        faces (np.ndarray): ``(F, 3)`` int32.
        out (np.ndarray): ``(N, 3)`` float32, written (also used as the
            accumulator, so no scratch array is allocated).
    """
    out[:] = 0.0
    for t in range(faces.shape[0]):
        a, b, c = faces[t, 0], faces[t, 1], faces[t, 2]
        ux = vertices[b, 0] - vertices[a, 0]
        uy = vertices[b, 1] - vertices[a, 1]
        uz = vertices[b, 2] - vertices[a, 2]
        vx = vertices[c, 0] - vertices[a, 0]
        vy = vertices[c, 1] - vertices[a, 1]
        vz = vertices[c, 2] - vertices[a, 2]
        # The cross product is twice the area times the unit normal: summing
        # it weights each face by its area.
        nx = uy * vz - uz * vy
        ny = uz * vx - ux * vz
        nz = ux * vy - uy * vx
        for k in (a, b, c):
            out[k, 0] += nx
            out[k, 1] += ny
            out[k, 2] += nz
    for i in range(out.shape[0]):
        norm = np.sqrt(out[i, 0]**2 + out[i, 1]**2 + out[i, 2]**2)
        if norm > 0.0:
            for d in range(3):
                out[i, d] /= norm
        else:
            out[i, 0] = 0.0
            out[i, 1] = 0.0
            out[i, 2] = 1.0


@njit(**_JIT)
def texel_coordinates(face_uvs, tex_height, tex_width, out):
    """Per-corner texture coordinates in texel units, once per call.

    Texel centres are at ``(k + 0.5) / size``; ``v`` has its origin at the
    bottom (VRML) while texture row 0 is the top.

    Args:
        face_uvs (np.ndarray): ``(F, 3, 2)`` float32 ``(u, v)`` in [0, 1].
        tex_height, tex_width (int): Texture size in texels.
        out (np.ndarray): ``(F, 3, 2)`` float32, written: continuous
            ``(column, row)`` texel coordinates (``0`` = first texel centre).
    """
    for t in range(face_uvs.shape[0]):
        for k in range(3):
            out[t, k, 0] = face_uvs[t, k, 0] * tex_width - 0.5
            out[t, k, 1] = (1.0 - face_uvs[t, k, 1]) * tex_height - 0.5
