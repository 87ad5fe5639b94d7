# Copyright (c) mmfer4d contributors. All rights reserved.
"""Deferred shading pass of the multi-view z-buffer rasteriser.

3. :func:`shade_view`: deferred shading of the visible pixels only, from
   the weights :func:`~.rasterize.rasterize_view` stored (perspective
   corrected where needed): depth, normals, texture (bilinear) / vertex
   colour, Lambertian shading and mask, written into the packed
   ``(V, H, W, C)`` uint8 output. The foreground pixels are compacted a
   chunk at a time and each chunk is shaded in structure-of-arrays loops:
   the fetches of per-face and per-vertex data (normals, texture
   coordinates, texels) are scalar gather loops, the arithmetic
   (normalisation, bilinear filter, float -> uint8) is in branch-free loops
   over small tables that LLVM vectorises, and one loop scatters the bytes
   into the output. Texture coordinates are turned into texel units once
   per call (:func:`~.common.texel_coordinates`), not once per pixel. This
   kernel lets LLVM fuse multiply-adds (``fastmath={'contract'}``, no
   other fast-math flag): its per-pixel interpolations are chains of them
   (about 15 % faster); a fused one rounds once instead of twice, which
   moves about 1e-4 of the 8-bit values by one step and leaves depth in mm
   unchanged. The vectorised loops do the same IEEE operations in the same
   order as a scalar loop, so vectorisation changes no output bit.
"""
import numpy as np
from numba import njit

from .common import (_JIT_FMA, C_DEPTH, C_MASK, C_NORMAL, C_RGB, C_SHADING,
                     P_AMBIENT, P_CAM_DIST, P_DEPTH_RANGE, P_LIGHT_X,
                     P_LIGHT_Y, P_LIGHT_Z, P_ORTHO, ZBUF_EMPTY)

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

    Returns:
        int: The number of foreground pixels.
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
    has_texture = (uv_tex.shape[0] > 0 and texture.shape[0] > 0
                   and texture.shape[1] > 0)
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
    count = 0
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
        count += n
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
                # Clamped into the texture; NaN fails both tests and
                # becomes 0 (numba's min / max would pass it through, and
                # a NaN texel index reads outside the texture).
                fx = sf[_S_FX, m]
                fy = sf[_S_FY, m]
                fx = min(fx if fx > f0 else f0, tex_x_max)
                fy = min(fy if fy > f0 else f0, tex_y_max)
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
    return count
