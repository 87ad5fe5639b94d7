# Copyright (c) mmfer4d contributors. All rights reserved.
"""Numba kernels of the multi-view z-buffer rasteriser.

All single-threaded (a DataLoader worker is the unit of parallelism). The
views are rendered one after the other, each in three passes over buffers
that belong to that view only, so that a view's working set (about 0.6 MB
for 9k vertices at 224 x 224) stays in the L2 cache:

1. :func:`project_view`: every vertex into the view, screen positions
   snapped to 16-bit sub-pixel fixed point (``SUBPIXEL_BITS``), stored as
   interleaved ``(x, y)`` int32 pairs (one cache line per corner fetch), so
   edge functions are exact integers: shared edges are watertight and the
   top-left rule decides pixel centres lying exactly on an edge. Vertex
   normals are turned into the camera frame here too.
2. :func:`rasterize_view`: visibility. For every triangle an integer
   bounding box of pixel centres, exact integer edge functions (oriented so
   that the inside is where all three are >= 0, whichever the winding: no
   back-face culling) and a depth test on ``q`` (a quantity affine in screen
   space, larger = nearer: camera ``z`` for orthographic views, ``1 /
   depth`` for perspective views), compared as 30-bit integer keys. Edge
   values, weights and keys are set up once per triangle and then only
   stepped (along a row, and from row to row). The set-up is done for a
   chunk of 128 triangles at a time in a branch-free loop over small
   contiguous tables that LLVM vectorises (several triangles per SIMD
   instruction), after a gather of the corners; the triangles are then
   drawn in mesh order, rows of 1 to 3 pixels (most of them: the
   triangles are tiny) as straight-line code. The pixel test is
   branch-free. The winner of a pixel stores its
   triangle id and its two screen-space barycentric weights, so shading
   never has to redo the triangle set-up.
3. :func:`shade_view`: deferred shading of the visible pixels only, from
   the stored weights (perspective corrected where needed): depth,
   normals, texture (bilinear) / vertex colour, Lambertian shading and
   mask, written into the packed ``(V, H, W, C)`` uint8 output. The
   foreground pixels are compacted a chunk at a time and each chunk is
   shaded in structure-of-arrays loops: the fetches of per-face and
   per-vertex data (normals, texture coordinates, texels) are scalar
   gather loops, the arithmetic (normalisation, bilinear filter, float ->
   uint8) is in branch-free loops over small tables that LLVM vectorises,
   and one loop scatters the bytes into the output. Texture coordinates
   are turned into texel units once per call (:func:`texel_coordinates`),
   not once per pixel. This kernel lets LLVM fuse multiply-adds
   (``fastmath={'contract'}``, no other fast-math flag): its per-pixel
   interpolations are chains of them (about 15 % faster); a fused one
   rounds once instead of twice, which moves about 1e-4 of the 8-bit
   values by one step and leaves depth in mm unchanged. The vectorised
   loops do the same IEEE operations in the same order as a scalar loop,
   so vectorisation changes no output bit.

Pixel ``(row i, column j)`` samples the continuous image point
``(j + 0.5, i + 0.5)`` (x right, y down); a triangle covers a pixel when
that centre is inside it (or on a top / left edge).

The signatures are kept fixed (C-contiguous arrays of fixed dtypes, absent
inputs passed as empty arrays, flags as ints, parameters in one float64
array) so that ``cache=True`` compiles each kernel once per checkout and
every later process, including DataLoader workers, loads it from
``__pycache__``. :func:`kernel_cache_stats` reports what happened. The
kernels use numpy's error model (no ``ZeroDivisionError`` branch in the
hot loops; every division is guarded where it matters) and numba's default
``boundscheck=False``.
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


@njit(**_JIT)
def project_view(vertices, normals, rot, params, xy, qs, cam_normals):
    """Project all vertices into one view.

    Args:
        vertices (np.ndarray): ``(N, 3)`` float32 world positions, mm.
        normals (np.ndarray): ``(N, 3)`` float32 world unit normals, or
            ``(0, 3)`` when no normal is needed.
        rot (np.ndarray): ``(3, 3)`` float64 world-to-camera rotation.
        params (np.ndarray): ``(NUM_PARAMS,)`` float64.
        xy (np.ndarray): ``(N, 2)`` int32, written: fixed-point screen
            position (x right, y down), ``SUBPIXEL_BITS`` fractional bits.
        qs (np.ndarray): ``(N,)`` float32, written: camera ``z`` (ortho) or
            ``1 / depth`` (perspective); NaN behind the near plane.
        cam_normals (np.ndarray): ``(N, 3)`` float32, written when
            ``normals`` is not empty: normals in the camera frame.
    """
    ortho = params[P_ORTHO] > 0.5
    scale = params[P_SCALE]
    cx = params[P_CX]
    cy = params[P_CY]
    dist = params[P_CAM_DIST]
    near = params[P_NEAR]
    ox = params[P_CENTER_X]
    oy = params[P_CENTER_Y]
    oz = params[P_CENTER_Z]
    with_normals = normals.shape[0] > 0
    r00, r01, r02 = rot[0, 0], rot[0, 1], rot[0, 2]
    r10, r11, r12 = rot[1, 0], rot[1, 1], rot[1, 2]
    r20, r21, r22 = rot[2, 0], rot[2, 1], rot[2, 2]
    for i in range(vertices.shape[0]):
        px = vertices[i, 0] - ox
        py = vertices[i, 1] - oy
        pz = vertices[i, 2] - oz
        x = r00 * px + r01 * py + r02 * pz
        y = r10 * px + r11 * py + r12 * pz
        z = r20 * px + r21 * py + r22 * pz
        if ortho:
            sx = cx + scale * x
            sy = cy - scale * y
            qs[i] = z
        else:
            depth = dist - z
            if depth < near:
                qs[i] = np.nan
                xy[i, 0] = 0
                xy[i, 1] = 0
                continue
            sx = cx + scale * x / depth
            sy = cy - scale * y / depth
            qs[i] = 1.0 / depth
        sx = min(max(sx, -_CLAMP_PX), _CLAMP_PX)
        sy = min(max(sy, -_CLAMP_PX), _CLAMP_PX)
        xy[i, 0] = np.int32(np.floor(sx * _ONE + 0.5))
        xy[i, 1] = np.int32(np.floor(sy * _ONE + 0.5))
    if with_normals:
        for i in range(vertices.shape[0]):
            nx = normals[i, 0]
            ny = normals[i, 1]
            nz = normals[i, 2]
            cam_normals[i, 0] = r00 * nx + r01 * ny + r02 * nz
            cam_normals[i, 1] = r10 * nx + r11 * ny + r12 * nz
            cam_normals[i, 2] = r20 * nx + r21 * ny + r22 * nz


# Triangles are set up a chunk at a time (see rasterize_view); the set-up
# and corner tables of one chunk (about 30 kB) stay in the L1 cache.
_CHUNK = 128
# Rows of the integer set-up table: bounding box (rows, columns, first
# pixel), edge values at the first pixel, their steps one pixel right (dx)
# and one row down (dy), and whether the triangle is drawn at all.
(_I_NROW, _I_NCOL, _I_P0, _I_W0, _I_W1, _I_W2, _I_DX0, _I_DX1, _I_DX2,
 _I_DY0, _I_DY1, _I_DY2, _I_DRAW, _NUM_I) = range(14)
# Rows of the float set-up table: weights b0, b1 and depth key at the first
# pixel and their steps one pixel right (_DB0, _DB1, _DKEY) and one row
# down (_RB0, _RB1, _RKEY), and the face sign.
(_F_B0, _F_B1, _F_KEY, _F_DB0, _F_DB1, _F_DKEY, _F_RB0, _F_RB1, _F_RKEY,
 _F_SIGN, _NUM_F) = range(11)


@njit(cache=True, nogil=True, error_model='numpy', inline='always')
def _plot(p, v0, v1, v2, key, b0, b1, t, spare, zbuf, tview, bary):
    """Inside and depth test of one pixel, branch-free.

    The pixel ``p`` is inside when its three edge values ``v0, v1, v2`` are
    >= 0 (top-left bias folded in). A losing pixel writes to the spare slot
    instead (index chosen by a conditional move); indices are unsigned so
    that numba emits no negative-index wrap-around.
    """
    z = np.int32(key)
    win = ((v0 | v1 | v2) >= 0) & (z > zbuf[np.uint64(p)])
    k = np.uint64(p if win else spare)
    zbuf[k] = z
    tview[k] = t
    bary[np.uint64(2) * k] = b0
    bary[np.uint64(2) * k + np.uint64(1)] = b1


@njit(**_JIT)
def rasterize_view(faces, xy, qs, height, width, zbuf, tview, bary,
                   face_sign):
    """Visibility pass of one view: nearest triangle and its weights per pixel.

    Two-sided: triangles of either winding are drawn. The edge function of
    the edge ``a -> b`` at ``p`` is ``E(p) = ex (py - ya) - ey (px - xa)``
    with ``(ex, ey) = s (xb - xa, yb - ya)`` and ``s`` the sign of the
    triangle's doubled area; ``w0`` (weight of corner 0) is edge ``1 -> 2``,
    ``w1`` edge ``2 -> 0``, ``w2`` edge ``0 -> 1``, and ``wk / |area|`` are the
    screen-space barycentric weights of the original corners for either
    winding. The inside test uses the exact integer values, the top-left
    bias folded in, computed once at the first pixel of the bounding box
    and then stepped by exact increments (``-ey * 2**16`` one pixel to the
    right, ``ex * 2**16`` one row down): no multiplication per row. The
    weights and the depth key are float64 at the start of each row (stepped
    from row to row) and stepped along the row in float32 (weights) and
    float64 (key).

    The depth test compares integer keys, ``q`` mapped affinely from the
    view's range ``[q_lo, q_hi]`` of vertex values onto ``[0, 2**30]``
    (about 1e-7 mm per step for a 100 mm deep face): an integer compare
    becomes a conditional move, where a float compare would become a branch.

    Triangles go through in chunks of ``_CHUNK``, in three loops per chunk:

    1. gather the corners' fixed-point positions and ``q`` into small
       contiguous tables;
    2. set every triangle of the chunk up (bounding box of pixel centres,
       area, edge values and weights at its first pixel, their steps, a
       draw flag for triangles that cover no pixel centre, are degenerate
       or cross the near plane) in a branch-free loop over those tables,
       which LLVM vectorises (AVX2 / AVX-512: several triangles per
       instruction, integer products in int64 lanes, exact); the set-up
       of a triangle that is not drawn is computed and ignored;
    3. draw the triangles with the draw flag (their indices compacted
       first, branch-free), in mesh order, so the result is the same as
       one triangle after the other.

    Most triangles are tiny (a 19k-triangle face at 224 px: bounding boxes
    of 1 to 3 pixel centres across), so the pixel loop is specialised on
    the bounding box width: rows of 1, 2 or 3 pixels are straight-line code
    (a row loop only), wider ones use the general row-and-column loop. The
    pixel test (:func:`_plot`) has no data-dependent branch: the inside and
    depth tests are coin flips a branch predictor would often miss.

    Args:
        faces (np.ndarray): ``(F, 3)`` int32.
        xy, qs (np.ndarray): outputs of :func:`project_view`.
        height, width (int): Image size in px.
        zbuf (np.ndarray): ``(H * W + 1,)`` int32, filled with ``ZBUF_EMPTY``
            by the caller; written with the depth key of the nearest surface
            (row-major pixels, then the spare slot).

        tview (np.ndarray): ``(H * W + 1,)`` int32, filled with -1 by the
            caller; written with the visible triangle index.
        bary (np.ndarray): ``(2 * (H * W + 1),)`` float32, written where
            ``tview >= 0``: screen-space weights ``(b0, b1)`` of the visible
            triangle's corners 0 and 1 at the pixel centre (corner 2 has
            ``1 - b0 - b1``).
        face_sign (np.ndarray): ``(F,)`` float32, written for every triangle
            that reaches the pixel tests: +1 when its corners turn
            counter-clockwise on screen (front side towards the camera), -1
            when the camera sees its back side.

    Returns:
        tuple[float, float]: ``(q_lo, key_scale)``: ``q = q_lo + key /
        key_scale``.
    """
    spare = height * width
    q_lo = np.inf
    q_hi = -np.inf
    for i in range(qs.shape[0]):
        if not np.isnan(qs[i]):
            q_lo = min(q_lo, np.float64(qs[i]))
            q_hi = max(q_hi, np.float64(qs[i]))
    key_scale = float(1 << 30) / (q_hi - q_lo) if q_hi > q_lo else 1.0
    # Corner tables (rows: corner 0, 1, 2; in the input dtypes, widened in
    # the set-up loop), set-up tables, drawn triangles.
    cx = np.empty((3, _CHUNK), np.int32)
    cy = np.empty((3, _CHUNK), np.int32)
    cq = np.empty((3, _CHUNK), np.float32)
    si = np.empty((_NUM_I, _CHUNK), np.int64)
    sf = np.empty((_NUM_F, _CHUNK), np.float64)
    drawn = np.empty(_CHUNK, np.int64)
    n_faces = faces.shape[0]
    fflat = faces.reshape(faces.size)
    xyflat = xy.reshape(xy.size)
    for base in range(0, n_faces, _CHUNK):
        n = min(_CHUNK, n_faces - base)
        # 1. Gather (flat views: constant strides, no wrap-around code).
        for k in range(n):
            f = np.uint64(3 * (base + k))
            i0 = np.uint64(fflat[f])
            i1 = np.uint64(fflat[f + np.uint64(1)])
            i2 = np.uint64(fflat[f + np.uint64(2)])
            cx[0, k] = xyflat[np.uint64(2) * i0]
            cy[0, k] = xyflat[np.uint64(2) * i0 + np.uint64(1)]
            cx[1, k] = xyflat[np.uint64(2) * i1]
            cy[1, k] = xyflat[np.uint64(2) * i1 + np.uint64(1)]
            cx[2, k] = xyflat[np.uint64(2) * i2]
            cy[2, k] = xyflat[np.uint64(2) * i2 + np.uint64(1)]
            cq[0, k] = qs[i0]
            cq[1, k] = qs[i1]
            cq[2, k] = qs[i2]
        # 2. Set-up, vectorised: no branch, no call (the top-left rule and
        # the NaN test are written out as comparisons).
        for k in range(n):
            x0 = np.int64(cx[0, k])
            y0 = np.int64(cy[0, k])
            x1 = np.int64(cx[1, k])
            y1 = np.int64(cy[1, k])
            x2 = np.int64(cx[2, k])
            y2 = np.int64(cy[2, k])
            q0 = np.float64(cq[0, k])
            q1 = np.float64(cq[1, k])
            q2 = np.float64(cq[2, k])
            # Pixel-centre range of the bounding box (the arithmetic shift
            # rounds towards -inf, as wanted for negative coordinates).
            jmin = max((min(x0, x1, x2) - _HALF + _ONE - 1) >> SUBPIXEL_BITS,
                       0)
            jmax = min((max(x0, x1, x2) - _HALF) >> SUBPIXEL_BITS, width - 1)
            imin = max((min(y0, y1, y2) - _HALF + _ONE - 1) >> SUBPIXEL_BITS,
                       0)
            imax = min((max(y0, y1, y2) - _HALF) >> SUBPIXEL_BITS,
                       height - 1)
            area = (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)
            # NaN q (behind the near plane) compares unequal to itself.
            draw = ((jmin <= jmax) & (imin <= imax) & (area != 0) &
                    (q0 == q0) & (q1 == q1) & (q2 == q2))
            # y is down: a positive area is a clockwise turn on screen.
            s = 1 if area > 0 else -1
            inv_area = 1.0 / max(s * area, 1)
            e0x = s * (x2 - x1)
            e0y = s * (y2 - y1)
            e1x = s * (x0 - x2)
            e1y = s * (y0 - y2)
            e2x = s * (x1 - x0)
            e2y = s * (y1 - y0)
            # Top-left rule: an edge owns the pixel centres lying exactly on
            # it when it goes up, or is horizontal and goes right (bias 0,
            # ``w >= 0`` passes); otherwise the bias -1 makes it ``w > 0``.
            c0 = np.int64((e0y < 0) | ((e0y == 0) & (e0x > 0))) - 1
            c1 = np.int64((e1y < 0) | ((e1y == 0) & (e1x > 0))) - 1
            c2 = np.int64((e2y < 0) | ((e2y == 0) & (e2x > 0))) - 1
            # One pixel to the right changes E by -ey * _ONE, one row down
            # by ex * _ONE.
            dx0 = e0y << SUBPIXEL_BITS
            dx1 = e1y << SUBPIXEL_BITS
            dx2 = e2y << SUBPIXEL_BITS
            dy0 = e0x << SUBPIXEL_BITS
            dy1 = e1x << SUBPIXEL_BITS
            dy2 = e2x << SUBPIXEL_BITS
            # Edge values at the first pixel of the bounding box.
            px = (jmin << SUBPIXEL_BITS) + _HALF
            py = (imin << SUBPIXEL_BITS) + _HALF
            w0 = e0x * (py - y1) - e0y * (px - x1) + c0
            w1 = e1x * (py - y2) - e1y * (px - x2) + c1
            w2 = e2x * (py - y0) - e2y * (px - x0) + c2
            # q = (w0 q0 + w1 q1 + w2 q2) / area
            #   = q2 + b0 (q0 - q2) + b1 (q1 - q2), in key units.
            k2 = (q2 - q_lo) * key_scale
            dk0 = (q0 - q2) * key_scale
            dk1 = (q1 - q2) * key_scale
            fb0 = (w0 - c0) * inv_area
            fb1 = (w1 - c1) * inv_area
            rb0 = dy0 * inv_area
            rb1 = dy1 * inv_area
            si[_I_NROW, k] = imax - imin + 1
            si[_I_NCOL, k] = jmax - jmin + 1
            si[_I_P0, k] = imin * width + jmin
            si[_I_W0, k] = w0
            si[_I_W1, k] = w1
            si[_I_W2, k] = w2
            si[_I_DX0, k] = dx0
            si[_I_DX1, k] = dx1
            si[_I_DX2, k] = dx2
            si[_I_DY0, k] = dy0
            si[_I_DY1, k] = dy1
            si[_I_DY2, k] = dy2
            si[_I_DRAW, k] = draw
            sf[_F_B0, k] = fb0
            sf[_F_B1, k] = fb1
            sf[_F_KEY, k] = k2 + fb0 * dk0 + fb1 * dk1
            sf[_F_DB0, k] = -dx0 * inv_area
            sf[_F_DB1, k] = -dx1 * inv_area
            sf[_F_DKEY, k] = (-dx0 * dk0 - dx1 * dk1) * inv_area
            sf[_F_RB0, k] = rb0
            sf[_F_RB1, k] = rb1
            sf[_F_RKEY, k] = rb0 * dk0 + rb1 * dk1
            sf[_F_SIGN, k] = -s
        # 3. Draw, in mesh order.
        n_drawn = 0
        for k in range(n):
            drawn[n_drawn] = k
            n_drawn += si[_I_DRAW, k]
        for m in range(n_drawn):
            k = drawn[m]
            t = base + k
            face_sign[t] = sf[_F_SIGN, k]
            nrow = si[_I_NROW, k]
            ncol = si[_I_NCOL, k]
            p_row = si[_I_P0, k]
            w0 = si[_I_W0, k]
            w1 = si[_I_W1, k]
            w2 = si[_I_W2, k]
            dx0 = si[_I_DX0, k]
            dx1 = si[_I_DX1, k]
            dx2 = si[_I_DX2, k]
            dy0 = si[_I_DY0, k]
            dy1 = si[_I_DY1, k]
            dy2 = si[_I_DY2, k]
            fb0 = sf[_F_B0, k]
            fb1 = sf[_F_B1, k]
            key_row = sf[_F_KEY, k]
            db0 = np.float32(sf[_F_DB0, k])
            db1 = np.float32(sf[_F_DB1, k])
            dkey = sf[_F_DKEY, k]
            rb0 = sf[_F_RB0, k]
            rb1 = sf[_F_RB1, k]
            rkey = sf[_F_RKEY, k]
            for _ in range(nrow):
                b0 = np.float32(fb0)
                b1 = np.float32(fb1)
                if ncol <= 3:
                    # Straight-line rows (the steps as in the loop below).
                    _plot(p_row, w0, w1, w2, key_row, b0, b1, t, spare, zbuf,
                          tview, bary)
                    if ncol >= 2:
                        _plot(p_row + 1, w0 - dx0, w1 - dx1, w2 - dx2,
                              key_row + dkey, b0 + db0, b1 + db1, t, spare,
                              zbuf, tview, bary)
                    if ncol == 3:
                        _plot(p_row + 2, w0 - 2 * dx0, w1 - 2 * dx1,
                              w2 - 2 * dx2, (key_row + dkey) + dkey,
                              (b0 + db0) + db0, (b1 + db1) + db1, t, spare,
                              zbuf, tview, bary)
                else:
                    p = p_row
                    key = key_row
                    v0 = w0
                    v1 = w1
                    v2 = w2
                    for _ in range(ncol):
                        _plot(p, v0, v1, v2, key, b0, b1, t, spare, zbuf,
                              tview, bary)
                        p += 1
                        v0 -= dx0
                        v1 -= dx1
                        v2 -= dx2
                        b0 += db0
                        b1 += db1
                        key += dkey
                p_row += width
                key_row += rkey
                fb0 += rb0
                fb1 += rb1
                w0 += dy0
                w1 += dy1
                w2 += dy2
    return q_lo, key_scale


# Foreground pixels are shaded a chunk at a time (see shade_view); the
# chunk's tables (about 30 kB) stay in the L1 cache.
_SHADE_CHUNK = 256
# Rows of the float32 table of a chunk: weights of corners 0, 1, 2, depth
# in mm, interpolated camera normal and face sign, texture coordinates in
# texel units, bilinear weights.
(_S_B0, _S_B1, _S_B2, _S_DEPTH, _S_NX, _S_NY, _S_NZ, _S_SIGN, _S_FX, _S_FY,
 _S_W00, _S_W01, _S_W10, _S_W11, _NUM_S) = range(15)
# Rows of the uint8 table of a chunk: the output bytes (8-bit depth, normal
# x, y, z, grey level, r, g, b).
(_T_DEPTH, _T_NX, _T_NY, _T_NZ, _T_GREY, _T_R, _T_G, _T_B,
 _NUM_T) = range(9)


@njit(cache=True, nogil=True, error_model='numpy', inline='always')
def _rgb_word(tex, k):
    """The three bytes ``tex[k:k + 3]`` packed into one word (r lowest)."""
    one = np.uint64(1)
    return (np.uint32(tex[k]) | (np.uint32(tex[k + one]) << np.uint32(8)) |
            (np.uint32(tex[k + one + one]) << np.uint32(16)))


@njit(**_JIT_FMA)
def shade_view(faces, qs, cam_normals, face_sign, uv_tex, texture,
               vertex_colors, params, channels, zbuf, q_lo, key_scale, tview,
               bary, tids, depth_mm, out):
    """Deferred shading of the visible pixels of one view.

    The 8-bit depth is normalised by the foreground's depth range; depth is
    monotone in the depth key, so that range comes from the extreme keys
    (a branch-free min / max over the key buffer).

    The foreground pixels are then collected, in raster order, a chunk of
    ``_SHADE_CHUNK`` at a time, with their triangles, depth keys and
    weights (a branch-free compaction: a background pixel's entries are
    overwritten by the next pixel's), and each chunk is shaded in a few
    loops over small structure-of-arrays tables (rows of float32 and uint8
    values, in the L1 cache):

    - scalar gather loops fetch what a pixel needs from the per-face and
      per-vertex inputs (the corners' camera normals, the face sign,
      texture coordinates; then the four texels of the bilinear footprint,
      each texel's r, g, b packed into one word) and do the cheap
      interpolations;
    - branch-free loops over the tables do the rest of the arithmetic
      (depth, normalisation with its square root and division, Lambertian
      shading, texel positions and bilinear weights, the bilinear blend,
      float -> uint8 conversions); LLVM vectorises them (AVX2 / AVX-512:
      8 or 16 pixels per instruction), with the same IEEE operations in the
      same order as one pixel at a time, so the results are identical;
    - one scatter loop writes the chunk's bytes into the packed
      ``(H, W, C)`` output.

    The gathers (cache accesses) are now most of the cost, the arithmetic
    little.

    All per-pixel arithmetic is float32 (ample for 8-bit outputs; the depth
    in mm is computed in float64), indices are unsigned (no wrap-around
    code) and the per-vertex / per-face inputs are read through flat views
    (constant strides).

    Args:
        faces (np.ndarray): ``(F, 3)`` int32.
        qs, cam_normals: outputs of :func:`project_view` (``cam_normals``
            may be ``(0, 3)`` when neither normals nor shading are asked
            for).
        face_sign, zbuf, tview, bary: outputs of :func:`rasterize_view`.
        q_lo, key_scale (float): What :func:`rasterize_view` returns.
        uv_tex (np.ndarray): ``(F, 3, 2)`` float32 output of
            :func:`texel_coordinates`, or ``(0, 3, 2)`` without texture.
        texture (np.ndarray): ``(TH, TW, 3)`` uint8 (row 0 = top), or
            ``(0, 0, 3)``.
        vertex_colors (np.ndarray): ``(N, 3)`` uint8, or ``(0, 3)``.
        params (np.ndarray): ``(NUM_PARAMS,)`` float64.
        channels (np.ndarray): ``(NUM_CHANNEL_SLOTS,)`` int64 first output
            channel of each modality, -1 when absent.
        tids (np.ndarray): ``(H * W,)`` int32, written: ``tview`` without
            its spare slot; or ``(0,)`` when not wanted.
        depth_mm (np.ndarray): ``(H * W,)`` float32, written: depth along
            the viewing axis from the camera in mm, 0 for background; or
            ``(0,)`` when not wanted.
        out (np.ndarray): ``(H, W, C)`` uint8, zero-filled by the caller;
            foreground pixels written.
    """
    f0 = np.float32(0.0)
    f1 = np.float32(1.0)
    f255 = np.float32(255.0)
    half = np.float32(0.5)
    n_scale = np.float32(127.5)
    n_offset = np.float32(128.0)
    ortho = params[P_ORTHO] > 0.5
    dist = params[P_CAM_DIST]
    depth_range = params[P_DEPTH_RANGE]
    lx = np.float32(params[P_LIGHT_X])
    ly = np.float32(params[P_LIGHT_Y])
    lz = np.float32(params[P_LIGHT_Z])
    ambient = np.float32(params[P_AMBIENT])
    diffuse = f1 - ambient
    c_depth = channels[C_DEPTH]
    c_normal = channels[C_NORMAL]
    c_rgb = channels[C_RGB]
    c_shading = channels[C_SHADING]
    c_mask = channels[C_MASK]
    need_normal = c_normal >= 0 or c_shading >= 0
    has_texture = uv_tex.shape[0] > 0 and texture.shape[0] > 0
    has_vcol = vertex_colors.shape[0] > 0
    tex_rgb = c_rgb >= 0 and has_texture
    vcol_rgb = c_rgb >= 0 and not has_texture and has_vcol
    # Without texture and vertex colours, rgb is the grey shading.
    grey_rgb = (c_rgb >= 0 and not has_texture and not has_vcol
                and need_normal)
    need_bary = need_normal or c_rgb >= 0
    keep_tids = tids.shape[0] > 0
    keep_depth = depth_mm.shape[0] > 0
    need_depth = c_depth >= 0 or keep_depth
    th = texture.shape[0]
    tw = texture.shape[1]
    tex_x_max = np.float32(tw - 1)
    tex_y_max = np.float32(th - 1)
    # The left / upper texel of the bilinear footprint stops one short of
    # the last column / row, so the right / lower neighbours always exist
    # and their offsets are constant (no per-pixel border test); on the
    # last column / row the fraction is then exactly 1. A 1-texel-wide
    # (-high) texture has no neighbour: offset 0 there (fraction 0).
    tex_x_last = max(tw - 2, 0)
    tex_y_last = max(th - 2, 0)
    tex_dx = np.uint64(3 if tw > 1 else 0)
    tex_dy = np.uint64(3 * tw if th > 1 else 0)
    tex_row = 3 * tw
    tex = texture.reshape(th * tw * 3)
    fflat = faces.reshape(faces.size)
    nflat = cam_normals.reshape(cam_normals.size)
    uvflat = uv_tex.reshape(uv_tex.size)
    height = out.shape[0]
    width = out.shape[1]
    npix = height * width
    nchan = out.shape[2]
    oflat = out.reshape(npix * nchan)
    # Foreground depth range from the extreme keys (depth decreases as the
    # key grows, in both projections).
    kmax = ZBUF_EMPTY
    kmin = -ZBUF_EMPTY - 1
    for p in range(npix):
        z = zbuf[p]
        kmax = max(kmax, z)
        kmin = min(kmin, z if z != ZBUF_EMPTY else -ZBUF_EMPTY - 1)
    q_near = q_lo + kmax / key_scale
    q_far = q_lo + kmin / key_scale
    dmin = dist - q_near if ortho else 1.0 / q_near
    dmax = dist - q_far if ortho else 1.0 / q_far
    if depth_range > 0.0:
        dmin = dist - depth_range
        dmax = dist + depth_range
    dscale = np.float32(254.0 / (dmax - dmin) if dmax > dmin else 0.0)
    dnear = np.float32(dmax)
    # A chunk: its pixels, their triangles and depth keys, the position of
    # their bilinear footprints in the texture and its four texels (r, g, b
    # packed in a word), and the float32 and uint8 tables.
    pix = np.empty(_SHADE_CHUNK, np.int64)
    tri = np.empty(_SHADE_CHUNK, np.int64)
    keys = np.empty(_SHADE_CHUNK, np.int32)
    tex_at = np.empty(_SHADE_CHUNK, np.int64)
    texels = np.empty((4, _SHADE_CHUNK), np.uint32)
    sf = np.empty((_NUM_S, _SHADE_CHUNK), np.float32)
    sb = np.empty((_NUM_T, _SHADE_CHUNK), np.uint8)
    p = 0
    while p < npix:
        # Next chunk of foreground pixels, with their triangles, depth keys
        # and weights (branch-free compaction: a background pixel's entries
        # are overwritten by the next pixel's).
        n = 0
        while p < npix and n < _SHADE_CHUNK:
            t = tview[p]
            if keep_tids:
                tids[p] = t
            if keep_depth:
                depth_mm[p] = 0.0
            pix[n] = p
            tri[n] = t
            keys[n] = zbuf[p]
            sf[_S_B0, n] = bary[np.uint64(2 * p)]
            sf[_S_B1, n] = bary[np.uint64(2 * p + 1)]
            n += 1 if t >= 0 else 0
            p += 1
        if need_depth:
            for m in range(n):
                q = q_lo + keys[m] / key_scale
                d = np.float32(dist - q if ortho else 1.0 / q)
                sf[_S_DEPTH, m] = d
                val = min(max(np.float32(1.5) + (dnear - d) * dscale, f1),
                          f255)
                sb[_T_DEPTH, m] = np.uint8(val if dscale > f0 else f255)
        if need_bary:
            for m in range(n):
                sf[_S_B2, m] = f1 - sf[_S_B0, m] - sf[_S_B1, m]
        if not ortho and need_bary:
            # Screen-space weights -> perspective-correct weights.
            for m in range(n):
                e = np.uint64(3 * tri[m])
                b0 = sf[_S_B0, m] * qs[np.uint64(fflat[e])]
                b1 = sf[_S_B1, m] * qs[np.uint64(fflat[e + np.uint64(1)])]
                b2 = sf[_S_B2, m] * qs[np.uint64(fflat[e + np.uint64(2)])]
                r = f1 / (b0 + b1 + b2)
                sf[_S_B0, m] = b0 * r
                sf[_S_B1, m] = b1 * r
                sf[_S_B2, m] = b2 * r
        # Gather: interpolated camera normal and face sign, texture
        # coordinates (the per-face and per-vertex inputs).
        if need_normal or tex_rgb:
            for m in range(n):
                u = np.uint64(tri[m])
                b0 = sf[_S_B0, m]
                b1 = sf[_S_B1, m]
                b2 = sf[_S_B2, m]
                if need_normal:
                    e = np.uint64(3) * u
                    n0 = np.uint64(3) * np.uint64(fflat[e])
                    n1 = np.uint64(3) * np.uint64(fflat[e + np.uint64(1)])
                    n2 = np.uint64(3) * np.uint64(fflat[e + np.uint64(2)])
                    for d in range(3):
                        sf[_S_NX + d, m] = (b0 * nflat[n0] + b1 * nflat[n1] +
                                            b2 * nflat[n2])
                        n0 += np.uint64(1)
                        n1 += np.uint64(1)
                        n2 += np.uint64(1)
                    sf[_S_SIGN, m] = face_sign[u]
                if tex_rgb:
                    e = np.uint64(6) * u
                    for d in range(2):
                        sf[_S_FX + d, m] = (b0 * uvflat[e] +
                                            b1 * uvflat[e + np.uint64(2)] +
                                            b2 * uvflat[e + np.uint64(4)])
                        e += np.uint64(1)
        if need_normal:
            for m in range(n):
                nx = sf[_S_NX, m]
                ny = sf[_S_NY, m]
                nz = sf[_S_NZ, m]
                norm2 = nx * nx + ny * ny + nz * nz
                # Two-sided: a triangle seen from its back shows its
                # flipped normal.
                rn = sf[_S_SIGN, m] / np.sqrt(norm2)
                ok = norm2 > np.float32(1e-20)
                nx = nx * rn if ok else f0
                ny = ny * rn if ok else f0
                nz = nz * rn if ok else f1
                sb[_T_NX, m] = np.uint8(min(nx * n_scale + n_offset, f255))
                sb[_T_NY, m] = np.uint8(min(ny * n_scale + n_offset, f255))
                sb[_T_NZ, m] = np.uint8(min(nz * n_scale + n_offset, f255))
                lam = max(nx * lx + ny * ly + nz * lz, f0)
                sb[_T_GREY, m] = np.uint8(
                    min(f255 * (ambient + diffuse * lam) + half, f255))
        if tex_rgb:
            for m in range(n):
                fx = min(max(sf[_S_FX, m], f0), tex_x_max)
                fy = min(max(sf[_S_FY, m], f0), tex_y_max)
                tx = min(np.int64(fx), tex_x_last)
                ty = min(np.int64(fy), tex_y_last)
                ax = fx - np.float32(tx)
                ay = fy - np.float32(ty)
                tex_at[m] = ty * tex_row + 3 * tx
                sf[_S_W00, m] = (f1 - ax) * (f1 - ay)
                sf[_S_W01, m] = ax * (f1 - ay)
                sf[_S_W10, m] = (f1 - ax) * ay
                sf[_S_W11, m] = ax * ay
            for m in range(n):
                k00 = np.uint64(tex_at[m])
                k01 = k00 + tex_dx
                k10 = k00 + tex_dy
                k11 = k10 + tex_dx
                texels[0, m] = _rgb_word(tex, k00)
                texels[1, m] = _rgb_word(tex, k01)
                texels[2, m] = _rgb_word(tex, k10)
                texels[3, m] = _rgb_word(tex, k11)
            for m in range(n):
                w00 = sf[_S_W00, m]
                w01 = sf[_S_W01, m]
                w10 = sf[_S_W10, m]
                w11 = sf[_S_W11, m]
                t00 = texels[0, m]
                t01 = texels[1, m]
                t10 = texels[2, m]
                t11 = texels[3, m]
                for ch in range(3):
                    shift = np.uint32(8 * ch)
                    # A convex combination of uint8: stays in [0, 255].
                    sb[_T_R + ch, m] = np.uint8(
                        w00 * np.float32((t00 >> shift) & np.uint32(255)) +
                        w01 * np.float32((t01 >> shift) & np.uint32(255)) +
                        w10 * np.float32((t10 >> shift) & np.uint32(255)) +
                        w11 * np.float32((t11 >> shift) & np.uint32(255)) +
                        half)
        elif vcol_rgb:
            for m in range(n):
                e = np.uint64(3 * tri[m])
                i0 = np.uint64(fflat[e])
                i1 = np.uint64(fflat[e + np.uint64(1)])
                i2 = np.uint64(fflat[e + np.uint64(2)])
                b0 = sf[_S_B0, m]
                b1 = sf[_S_B1, m]
                b2 = sf[_S_B2, m]
                for ch in range(3):
                    c = np.uint64(ch)
                    sb[_T_R + ch, m] = np.uint8(
                        b0 * np.float32(vertex_colors[i0, c]) +
                        b1 * np.float32(vertex_colors[i1, c]) +
                        b2 * np.float32(vertex_colors[i2, c]) + half)
        elif grey_rgb:
            for m in range(n):
                sb[_T_R, m] = sb[_T_GREY, m]
                sb[_T_G, m] = sb[_T_GREY, m]
                sb[_T_B, m] = sb[_T_GREY, m]
        # Scatter into the packed output.
        for m in range(n):
            q = pix[m]
            o = np.uint64(q * nchan)
            if c_mask >= 0:
                oflat[o + np.uint64(c_mask)] = 255
            if c_depth >= 0:
                oflat[o + np.uint64(c_depth)] = sb[_T_DEPTH, m]
            if keep_depth:
                depth_mm[q] = sf[_S_DEPTH, m]
            if c_normal >= 0:
                k = o + np.uint64(c_normal)
                oflat[k] = sb[_T_NX, m]
                oflat[k + np.uint64(1)] = sb[_T_NY, m]
                oflat[k + np.uint64(2)] = sb[_T_NZ, m]
            if c_shading >= 0:
                oflat[o + np.uint64(c_shading)] = sb[_T_GREY, m]
            if tex_rgb or vcol_rgb or grey_rgb:
                k = o + np.uint64(c_rgb)
                oflat[k] = sb[_T_R, m]
                oflat[k + np.uint64(1)] = sb[_T_G, m]
                oflat[k + np.uint64(2)] = sb[_T_B, m]


@njit(**_JIT)
def render_kernel(vertices, faces, face_uvs, texture, vertex_colors,
                  rotations, params, channels, normals, xy, qs, cam_normals,
                  uv_tex, face_sign, zbuf, tview, bary, tids, depth_mm, out):
    """All passes for all views; the one entry point called from Python.

    Args:
        vertices, faces, face_uvs, texture, vertex_colors: the mesh (see
            :func:`shade_view` for the empty forms of absent inputs).
        rotations (np.ndarray): ``(V, 3, 3)`` float64 world-to-camera.
        params (np.ndarray): ``(NUM_PARAMS,)`` float64.
        channels (np.ndarray): ``(NUM_CHANNEL_SLOTS,)`` int64.
        normals (np.ndarray): ``(N, 3)`` float32 scratch, or ``(0, 3)``
            when neither normals nor shading are rendered.
        xy, qs, cam_normals: ``(N, 2)`` int32, ``(N,)`` float32, ``(N, 3)``
            / ``(0, 3)`` float32 per-view scratch (see
            :func:`project_view`).
        uv_tex (np.ndarray): ``(F, 3, 2)`` float32 scratch, or ``(0, 3, 2)``
            without texture.
        face_sign (np.ndarray): ``(F,)`` float32 scratch.
        zbuf, tview, bary: ``(H * W + 1,)`` int32, ``(H * W + 1,)`` int32
            and ``(2 * (H * W + 1),)`` float32 per-view scratch (see
            :func:`rasterize_view`).
        tids (np.ndarray): ``(V, H, W)`` int32, written: visible triangle
            per pixel, -1 for background; or ``(0, H, W)`` when not wanted.
        depth_mm (np.ndarray): ``(V, H, W)`` float32, written; or ``(0, H,
            W)`` when not wanted.
        out (np.ndarray): ``(V, H, W, C)`` uint8, zero-filled by the caller.
    """
    height = out.shape[1]
    width = out.shape[2]
    npix = height * width
    no_tids = np.empty(0, np.int32)
    no_depth = np.empty(0, np.float32)
    if normals.shape[0] > 0:
        vertex_normals(vertices, faces, normals)
    if uv_tex.shape[0] > 0:
        texel_coordinates(face_uvs, texture.shape[0], texture.shape[1],
                          uv_tex)
    for v in range(rotations.shape[0]):
        project_view(vertices, normals, rotations[v], params, xy, qs,
                     cam_normals)
        zbuf[:] = ZBUF_EMPTY
        tview[:] = -1
        q_lo, key_scale = rasterize_view(faces, xy, qs, height, width, zbuf,
                                         tview, bary, face_sign)
        tv = tids[v].reshape(npix) if tids.shape[0] > 0 else no_tids
        dv = depth_mm[v].reshape(npix) if depth_mm.shape[0] > 0 else no_depth
        shade_view(faces, qs, cam_normals, face_sign, uv_tex, texture,
                   vertex_colors, params, channels, zbuf, q_lo, key_scale,
                   tview, bary, tv, dv, out[v])


KERNELS = (vertex_normals, texel_coordinates, project_view, rasterize_view,
           shade_view, render_kernel)


def kernel_cache_stats() -> dict:
    """What numba did for the entry kernel in this process.

    Returns:
        dict: ``signatures`` (number of compiled or loaded signatures),
        ``cache_hits`` and ``cache_misses`` (loads from / misses of the
        on-disk cache; a miss means a compile), and ``cache_path`` (the
        ``__pycache__`` folder, or None when caching is unavailable).
    """
    stats = render_kernel.stats
    return dict(
        signatures=len(render_kernel.signatures),
        cache_hits=int(sum(stats.cache_hits.values())),
        cache_misses=int(sum(stats.cache_misses.values())),
        cache_path=stats.cache_path)
