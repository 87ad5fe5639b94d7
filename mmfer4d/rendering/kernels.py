# Copyright (c) mmfer4d contributors. All rights reserved.
"""Numba kernels of the multi-view z-buffer rasteriser.

Three passes, all single-threaded (a DataLoader worker is the unit of
parallelism):

1. :func:`project_vertices`: every vertex into every view at once, screen
   positions snapped to 16-bit sub-pixel fixed point (``SUBPIXEL_BITS``), so
   edge functions are exact integers: shared edges are watertight and the
   top-left rule decides pixel centres lying exactly on an edge.
2. :func:`rasterize_ids`: visibility only. For every view and triangle an
   integer bounding box, incremental integer edge functions and a depth test
   on ``q`` (a quantity affine in screen space, larger = nearer: camera
   ``z`` for orthographic views, ``1 / depth`` for perspective views). Only
   ``q`` and the triangle id are stored.
3. :func:`shade_pixels`: deferred shading of the visible pixels only;
   barycentrics are recomputed from the stored triangle id (perspective
   corrected where needed), then depth, normals, texture / vertex colour,
   Lambertian shading and mask are written straight into the packed
   ``(V, H, W, C)`` uint8 output.

Pixel ``(row i, column j)`` samples the continuous image point
``(j + 0.5, i + 0.5)`` (x right, y down); a triangle covers a pixel when
that centre is inside it (or on a top / left edge).

The signatures are kept fixed (C-contiguous arrays of fixed dtypes, absent
inputs passed as empty arrays, flags as ints, parameters in one float64
array) so that ``cache=True`` compiles each kernel once per checkout and
every later process, including DataLoader workers, loads it from
``__pycache__``. :func:`kernel_cache_stats` reports what happened.
"""
import numpy as np
from numba import njit

SUBPIXEL_BITS = 16
_ONE = 1 << SUBPIXEL_BITS
_HALF = _ONE >> 1
# Screen positions are clamped to +-2**14 px so fixed-point products stay far
# below int64 overflow (2**30 * 2**30 * 2).
_CLAMP_PX = float(1 << 14)

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


@njit(cache=True, nogil=True)
def vertex_normals(vertices, faces, out):
    """Area-weighted unit vertex normals (right-hand winding).

    Args:
        vertices (np.ndarray): ``(N, 3)`` float32, mm.
        faces (np.ndarray): ``(F, 3)`` int32.
        out (np.ndarray): ``(N, 3)`` float32, written.
    """
    n = vertices.shape[0]
    acc = np.zeros((n, 3), dtype=np.float64)
    for t in range(faces.shape[0]):
        a, b, c = faces[t, 0], faces[t, 1], faces[t, 2]
        ux = vertices[b, 0] - vertices[a, 0]
        uy = vertices[b, 1] - vertices[a, 1]
        uz = vertices[b, 2] - vertices[a, 2]
        vx = vertices[c, 0] - vertices[a, 0]
        vy = vertices[c, 1] - vertices[a, 1]
        vz = vertices[c, 2] - vertices[a, 2]
        nx = uy * vz - uz * vy
        ny = uz * vx - ux * vz
        nz = ux * vy - uy * vx
        for k in (a, b, c):
            acc[k, 0] += nx
            acc[k, 1] += ny
            acc[k, 2] += nz
    for i in range(n):
        norm = np.sqrt(acc[i, 0]**2 + acc[i, 1]**2 + acc[i, 2]**2)
        if norm > 0.0:
            for d in range(3):
                out[i, d] = acc[i, d] / norm
        else:
            out[i, 0] = 0.0
            out[i, 1] = 0.0
            out[i, 2] = 1.0


@njit(cache=True, nogil=True)
def project_vertices(vertices, normals, rotations, params, xs, ys, qs,
                     cam_normals):
    """Project all vertices into all views.

    Args:
        vertices (np.ndarray): ``(N, 3)`` float32 world positions, mm.
        normals (np.ndarray): ``(N, 3)`` float32 world unit normals, or
            ``(0, 3)`` when no normal is needed.
        rotations (np.ndarray): ``(V, 3, 3)`` float64 world-to-camera.
        params (np.ndarray): ``(NUM_PARAMS,)`` float64.
        xs, ys (np.ndarray): ``(V, N)`` int64, written: fixed-point screen
            position (x right, y down), ``SUBPIXEL_BITS`` fractional bits.
        qs (np.ndarray): ``(V, N)`` float64, written: camera ``z`` (ortho)
            or ``1 / depth`` (perspective); NaN behind the near plane.
        cam_normals (np.ndarray): ``(V, N, 3)`` float32, written when
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
    for v in range(rotations.shape[0]):
        r00, r01, r02 = rotations[v, 0, 0], rotations[v, 0, 1], rotations[v, 0,
                                                                          2]
        r10, r11, r12 = rotations[v, 1, 0], rotations[v, 1, 1], rotations[v, 1,
                                                                          2]
        r20, r21, r22 = rotations[v, 2, 0], rotations[v, 2, 1], rotations[v, 2,
                                                                          2]
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
                qs[v, i] = z
            else:
                depth = dist - z
                if depth < near:
                    qs[v, i] = np.nan
                    xs[v, i] = 0
                    ys[v, i] = 0
                    continue
                sx = cx + scale * x / depth
                sy = cy - scale * y / depth
                qs[v, i] = 1.0 / depth
            sx = min(max(sx, -_CLAMP_PX), _CLAMP_PX)
            sy = min(max(sy, -_CLAMP_PX), _CLAMP_PX)
            xs[v, i] = np.int64(np.floor(sx * _ONE + 0.5))
            ys[v, i] = np.int64(np.floor(sy * _ONE + 0.5))
            if with_normals:
                nx = normals[i, 0]
                ny = normals[i, 1]
                nz = normals[i, 2]
                cam_normals[v, i, 0] = r00 * nx + r01 * ny + r02 * nz
                cam_normals[v, i, 1] = r10 * nx + r11 * ny + r12 * nz
                cam_normals[v, i, 2] = r20 * nx + r21 * ny + r22 * nz


@njit(cache=True, nogil=True)
def rasterize_ids(faces, xs, ys, qs, zbuf, tids):
    """Visibility pass: nearest triangle id and its ``q`` per pixel.

    Two-sided: triangles of either winding are drawn.

    Args:
        faces (np.ndarray): ``(F, 3)`` int32.
        xs, ys, qs (np.ndarray): outputs of :func:`project_vertices`.
        zbuf (np.ndarray): ``(V, H, W)`` float32, filled with ``-inf`` by the
            caller; written with the nearest ``q``.
        tids (np.ndarray): ``(V, H, W)`` int32, filled with -1 by the caller;
            written with the visible triangle index.
    """
    height = zbuf.shape[1]
    width = zbuf.shape[2]
    for v in range(xs.shape[0]):
        zb = zbuf[v]
        tb = tids[v]
        for t in range(faces.shape[0]):
            i0 = faces[t, 0]
            i1 = faces[t, 1]
            i2 = faces[t, 2]
            x0 = xs[v, i0]
            y0 = ys[v, i0]
            x1 = xs[v, i1]
            y1 = ys[v, i1]
            x2 = xs[v, i2]
            y2 = ys[v, i2]
            # Pixel-centre range of the bounding box (floor division rounds
            # towards -inf, as wanted for negative coordinates).
            xmin = min(x0, min(x1, x2))
            xmax = max(x0, max(x1, x2))
            jmin = (xmin - _HALF + _ONE - 1) >> SUBPIXEL_BITS
            jmax = (xmax - _HALF) >> SUBPIXEL_BITS
            if jmin < 0:
                jmin = 0
            if jmax > width - 1:
                jmax = width - 1
            if jmin > jmax:
                continue
            ymin = min(y0, min(y1, y2))
            ymax = max(y0, max(y1, y2))
            imin = (ymin - _HALF + _ONE - 1) >> SUBPIXEL_BITS
            imax = (ymax - _HALF) >> SUBPIXEL_BITS
            if imin < 0:
                imin = 0
            if imax > height - 1:
                imax = height - 1
            if imin > imax:
                continue
            q0 = qs[v, i0]
            q1 = qs[v, i1]
            q2 = qs[v, i2]
            if np.isnan(q0) or np.isnan(q1) or np.isnan(q2):
                continue
            area = (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)
            if area == 0:
                continue
            if area < 0:
                # Back side: swap two corners so the inside test is the same.
                x1, x2 = x2, x1
                y1, y2 = y2, y1
                q1, q2 = q2, q1
                area = -area
            inv_area = 1.0 / area
            # Edge a->b: E(p) = (xb - xa)(py - ya) - (yb - ya)(px - xa);
            # w0 (weight of corner 0) is edge 1->2, w1 edge 2->0, w2 0->1.
            # Top-left rule (y down, this winding): an edge owns its pixel
            # centres when it goes up, or is horizontal going right.
            b0 = 0 if (y2 < y1 or (y2 == y1 and x2 > x1)) else -1
            b1 = 0 if (y0 < y2 or (y0 == y2 and x0 > x2)) else -1
            b2 = 0 if (y1 < y0 or (y1 == y0 and x1 > x0)) else -1
            px0 = (jmin << SUBPIXEL_BITS) + _HALF
            py0 = (imin << SUBPIXEL_BITS) + _HALF
            w0_row = (x2 - x1) * (py0 - y1) - (y2 - y1) * (px0 - x1)
            w1_row = (x0 - x2) * (py0 - y2) - (y0 - y2) * (px0 - x2)
            w2_row = (x1 - x0) * (py0 - y0) - (y1 - y0) * (px0 - x0)
            dw0x = -(y2 - y1) * _ONE
            dw1x = -(y0 - y2) * _ONE
            dw2x = -(y1 - y0) * _ONE
            dw0y = (x2 - x1) * _ONE
            dw1y = (x0 - x2) * _ONE
            dw2y = (x1 - x0) * _ONE
            for i in range(imin, imax + 1):
                w0 = w0_row
                w1 = w1_row
                w2 = w2_row
                for j in range(jmin, jmax + 1):
                    if ((w0 + b0) | (w1 + b1) | (w2 + b2)) >= 0:
                        q = (w0 * q0 + w1 * q1 + w2 * q2) * inv_area
                        if q > zb[i, j]:
                            zb[i, j] = q
                            tb[i, j] = t
                    w0 += dw0x
                    w1 += dw1x
                    w2 += dw2x
                w0_row += dw0y
                w1_row += dw1y
                w2_row += dw2y


@njit(cache=True, nogil=True)
def shade_pixels(faces, xs, ys, qs, cam_normals, face_uvs, texture,
                 vertex_colors, params, channels, zbuf, tids, depth_mm, out):
    """Deferred shading of the visible pixels.

    Args:
        faces (np.ndarray): ``(F, 3)`` int32.
        xs, ys, qs, cam_normals: outputs of :func:`project_vertices`
            (``cam_normals`` may be ``(V, 0, 3)`` when neither normals nor
            shading are asked for).
        face_uvs (np.ndarray): ``(F, 3, 2)`` float32, or ``(0, 3, 2)``.
        texture (np.ndarray): ``(TH, TW, 3)`` uint8 (row 0 = top), or
            ``(0, 0, 3)``.
        vertex_colors (np.ndarray): ``(N, 3)`` uint8, or ``(0, 3)``.
        params (np.ndarray): ``(NUM_PARAMS,)`` float64.
        channels (np.ndarray): ``(NUM_CHANNEL_SLOTS,)`` int64 first output
            channel of each modality, -1 when absent.
        zbuf, tids: outputs of :func:`rasterize_ids`.
        depth_mm (np.ndarray): ``(V, H, W)`` float32, written: depth along
            the viewing axis from the camera in mm, 0 for background.
        out (np.ndarray): ``(V, H, W, C)`` uint8, zero-filled by the caller;
            foreground pixels written.
    """
    ortho = params[P_ORTHO] > 0.5
    dist = params[P_CAM_DIST]
    depth_range = params[P_DEPTH_RANGE]
    lx = params[P_LIGHT_X]
    ly = params[P_LIGHT_Y]
    lz = params[P_LIGHT_Z]
    ambient = params[P_AMBIENT]
    c_depth = channels[C_DEPTH]
    c_normal = channels[C_NORMAL]
    c_rgb = channels[C_RGB]
    c_shading = channels[C_SHADING]
    c_mask = channels[C_MASK]
    need_normal = c_normal >= 0 or c_shading >= 0
    has_texture = face_uvs.shape[0] > 0 and texture.shape[0] > 0
    has_vcol = vertex_colors.shape[0] > 0
    grey_rgb = c_rgb >= 0 and not has_texture and not has_vcol
    need_bary = need_normal or c_rgb >= 0
    th = texture.shape[0]
    tw = texture.shape[1]
    fth = float(th)
    ftw = float(tw)
    height = zbuf.shape[1]
    width = zbuf.shape[2]
    inv_one = 1.0 / _ONE
    for v in range(xs.shape[0]):
        zb = zbuf[v]
        tb = tids[v]
        db = depth_mm[v]
        ob = out[v]
        xv = xs[v]
        yv = ys[v]
        qv = qs[v]
        cn = cam_normals[v]
        dmin = np.inf
        dmax = -np.inf
        for i in range(height):
            for j in range(width):
                if tb[i, j] < 0:
                    db[i, j] = 0.0
                    continue
                q = zb[i, j]
                d = dist - q if ortho else 1.0 / q
                db[i, j] = d
                if d < dmin:
                    dmin = d
                if d > dmax:
                    dmax = d
        if depth_range > 0.0:
            dmin = dist - depth_range
            dmax = dist + depth_range
        dscale = 254.0 / (dmax - dmin) if dmax > dmin else 0.0
        for i in range(height):
            py = i + 0.5
            for j in range(width):
                t = tb[i, j]
                if t < 0:
                    continue
                if c_mask >= 0:
                    ob[i, j, c_mask] = 255
                if c_depth >= 0:
                    if dscale > 0.0:
                        val = 1.5 + (dmax - db[i, j]) * dscale
                        ob[i, j, c_depth] = np.uint8(min(max(val, 1.0),
                                                         255.0))
                    else:
                        ob[i, j, c_depth] = 255
                if not need_bary:
                    continue
                px = j + 0.5
                i0 = faces[t, 0]
                i1 = faces[t, 1]
                i2 = faces[t, 2]
                # Exact fixed-point corners as floats (pixel units).
                x0 = xv[i0] * inv_one
                y0 = yv[i0] * inv_one
                x1 = xv[i1] * inv_one
                y1 = yv[i1] * inv_one
                x2 = xv[i2] * inv_one
                y2 = yv[i2] * inv_one
                area = (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)
                inv_area = 1.0 / area
                b0 = ((x2 - x1) * (py - y1) - (y2 - y1) * (px - x1)) * inv_area
                b1 = ((x0 - x2) * (py - y2) - (y0 - y2) * (px - x2)) * inv_area
                b2 = 1.0 - b0 - b1
                if not ortho:
                    # Screen-space weights -> perspective-correct weights.
                    b0 *= qv[i0]
                    b1 *= qv[i1]
                    b2 *= qv[i2]
                    s = 1.0 / (b0 + b1 + b2)
                    b0 *= s
                    b1 *= s
                    b2 *= s
                if need_normal:
                    # Two-sided: a counter-clockwise (front-facing) triangle
                    # has a negative area in y-down pixel coordinates; one
                    # seen from its back shows its flipped normal.
                    sign = 1.0 if area < 0 else -1.0
                    nx = (b0 * cn[i0, 0] + b1 * cn[i1, 0] + b2 * cn[i2, 0])
                    ny = (b0 * cn[i0, 1] + b1 * cn[i1, 1] + b2 * cn[i2, 1])
                    nz = (b0 * cn[i0, 2] + b1 * cn[i1, 2] + b2 * cn[i2, 2])
                    norm2 = nx * nx + ny * ny + nz * nz
                    if norm2 > 1e-20:
                        rn = sign / np.sqrt(norm2)
                        nx *= rn
                        ny *= rn
                        nz *= rn
                    else:
                        nx = 0.0
                        ny = 0.0
                        nz = 1.0
                    if c_normal >= 0:
                        ob[i, j, c_normal] = np.uint8(
                            min(nx * 127.5 + 128.0, 255.0))
                        ob[i, j, c_normal + 1] = np.uint8(
                            min(ny * 127.5 + 128.0, 255.0))
                        ob[i, j, c_normal + 2] = np.uint8(
                            min(nz * 127.5 + 128.0, 255.0))
                    if c_shading >= 0 or grey_rgb:
                        lam = nx * lx + ny * ly + nz * lz
                        if lam < 0.0:
                            lam = 0.0
                        grey = np.uint8(
                            min(255.0 * (ambient + (1.0 - ambient) * lam) +
                                0.5, 255.0))
                        if c_shading >= 0:
                            ob[i, j, c_shading] = grey
                        if grey_rgb:
                            ob[i, j, c_rgb] = grey
                            ob[i, j, c_rgb + 1] = grey
                            ob[i, j, c_rgb + 2] = grey
                if c_rgb >= 0 and has_texture:
                    u = (b0 * face_uvs[t, 0, 0] + b1 * face_uvs[t, 1, 0] +
                         b2 * face_uvs[t, 2, 0])
                    w = (b0 * face_uvs[t, 0, 1] + b1 * face_uvs[t, 1, 1] +
                         b2 * face_uvs[t, 2, 1])
                    # Texel centres at (k + 0.5) / size; v origin at bottom.
                    fx = min(max(u * ftw - 0.5, 0.0), ftw - 1.0)
                    fy = min(max((1.0 - w) * fth - 0.5, 0.0), fth - 1.0)
                    tx0 = int(fx)
                    ty0 = int(fy)
                    tx1 = min(tx0 + 1, tw - 1)
                    ty1 = min(ty0 + 1, th - 1)
                    ax = fx - tx0
                    ay = fy - ty0
                    w00 = (1.0 - ax) * (1.0 - ay)
                    w01 = ax * (1.0 - ay)
                    w10 = (1.0 - ax) * ay
                    w11 = ax * ay
                    r00 = texture[ty0, tx0]
                    r01 = texture[ty0, tx1]
                    r10 = texture[ty1, tx0]
                    r11 = texture[ty1, tx1]
                    for ch in range(3):
                        # A convex combination of uint8: stays in [0, 255].
                        ob[i, j, c_rgb + ch] = np.uint8(
                            w00 * r00[ch] + w01 * r01[ch] + w10 * r10[ch] +
                            w11 * r11[ch] + 0.5)
                elif c_rgb >= 0 and has_vcol:
                    for ch in range(3):
                        ob[i, j, c_rgb + ch] = np.uint8(
                            b0 * vertex_colors[i0, ch] +
                            b1 * vertex_colors[i1, ch] +
                            b2 * vertex_colors[i2, ch] + 0.5)


@njit(cache=True, nogil=True)
def render_kernel(vertices, faces, face_uvs, texture, vertex_colors,
                  rotations, params, channels, normals, xs, ys, qs,
                  cam_normals, zbuf, tids, depth_mm, out):
    """All three passes; the one entry point called from Python.

    Buffers ``normals`` ``(N, 3)`` / ``(0, 3)``, ``xs``, ``ys``, ``qs``
    ``(V, N)``, ``cam_normals`` ``(V, N, 3)`` / ``(V, 0, 3)``, ``zbuf``,
    ``tids``, ``depth_mm`` ``(V, H, W)`` are scratch space owned by the
    caller (reused between calls); ``out`` must be zero-filled.
    """
    if normals.shape[0] > 0:
        vertex_normals(vertices, faces, normals)
    project_vertices(vertices, normals, rotations, params, xs, ys, qs,
                     cam_normals)
    zbuf[:] = -np.inf
    tids[:] = -1
    rasterize_ids(faces, xs, ys, qs, zbuf, tids)
    shade_pixels(faces, xs, ys, qs, cam_normals, face_uvs, texture,
                 vertex_colors, params, channels, zbuf, tids, depth_mm, out)


KERNELS = (vertex_normals, project_vertices, rasterize_ids, shade_pixels,
           render_kernel)


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
