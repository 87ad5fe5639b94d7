# Copyright (c) mmfer4d contributors. All rights reserved.
"""Projection and visibility passes of the multi-view z-buffer rasteriser.

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
   branch-free. The winner of a pixel stores its triangle id and its two
   screen-space barycentric weights, so shading never has to redo the
   triangle set-up.
"""
import numpy as np
from numba import njit

from .common import (_CLAMP_PX, _HALF, _JIT, _ONE, P_CAM_DIST, P_CENTER_X,
                     P_CENTER_Y, P_CENTER_Z, P_CX, P_CY, P_NEAR, P_ORTHO,
                     P_SCALE, SUBPIXEL_BITS)


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
