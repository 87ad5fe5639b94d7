# Copyright (c) mmfer4d contributors. All rights reserved.
"""Deferred shading pass of the torch backend.

For the covered pixels of a packed z-buffer (:mod:`.rasterize`), a bounded
number at a time, the winning triangle's exact integer edge functions are
evaluated again at the pixel centre, and everything numba's
:func:`..kernels.shade.shade_view` writes is computed with the same
float32 arithmetic: depth in mm from the depth key, the 8-bit depth
normalised per view by the foreground range (or the fixed window), the
perspective-correct weights, the interpolated camera normal with the face
sign (two-sided), the Lambertian grey, bilinear texture samples (texel
centres at ``(k + 0.5) / size``, ``v`` up, the footprint clamped inside the
texture, NaN-safe) or vertex colours, and the mask. Texture and vertex
colour lookups are gathers from flat buffers holding all meshes' data, so
meshes of one batch may have different textures and colour sources.
"""
from dataclasses import dataclass
from typing import Dict, Optional

import torch

from .rasterize import corner_index, edge_weights, unpack


@dataclass
class ShadeInputs:
    """What the shading pass reads for a group of G meshes and V views.

    Attributes:
        faces (torch.Tensor): ``(F, 3)`` int64 indices into the packed
            vertices of the group.
        face_mesh (torch.Tensor): ``(F,)`` int64 mesh of each face.
        xy (torch.Tensor): ``(V, N, 2)`` int64 fixed-point positions.
        q (torch.Tensor): ``(V, N)`` float64 (float32 values).
        q_lo, key_scale (torch.Tensor): ``(V, G)`` float64.
        distances (torch.Tensor): ``(G,)`` float64 camera distances, mm.
        cam_normals (torch.Tensor, optional): ``(V, N, 3)`` float32.
        texel_uv (torch.Tensor, optional): ``(F, 3, 2)`` float32 corner
            texel coordinates (column, row; 0 = first texel centre).
        tex_flat (torch.Tensor, optional): ``(sum TH * TW * 3,)`` uint8,
            the meshes' textures row-major, one after the other.
        tex_offset, tex_width, tex_height (torch.Tensor, optional):
            ``(G,)`` int64 first byte and size of each mesh's texture.
        vertex_colors (torch.Tensor, optional): ``(N, 3)`` uint8.
        color_source (torch.Tensor): ``(G,)`` int64 (0 grey, 1 vertex
            colour, 2 texture).
        face_start (torch.Tensor): ``(G,)`` int64 first face of each mesh
            in ``faces`` (face ids are returned per mesh).
    """

    faces: torch.Tensor
    face_mesh: torch.Tensor
    xy: torch.Tensor
    q: torch.Tensor
    q_lo: torch.Tensor
    key_scale: torch.Tensor
    distances: torch.Tensor
    cam_normals: Optional[torch.Tensor]
    texel_uv: Optional[torch.Tensor]
    tex_flat: Optional[torch.Tensor]
    tex_offset: Optional[torch.Tensor]
    tex_width: Optional[torch.Tensor]
    tex_height: Optional[torch.Tensor]
    vertex_colors: Optional[torch.Tensor]
    color_source: torch.Tensor
    face_start: torch.Tensor


def _u8(x: torch.Tensor) -> torch.Tensor:
    # Non-negative float32 -> uint8, truncating as numba's cast.
    return x.clamp(0.0, 255.0).to(torch.uint8)


def depth_normalisation(zbuf, inp: ShadeInputs, num_views: int,
                        ortho: bool, depth_range_mm: Optional[float]):
    """Per-view ``(dnear, dscale)`` float32 of the 8-bit depth, ``(G *
    V,)`` each: ``1.5 + (dnear - d) * dscale`` (255 where dscale is 0)."""
    g_count = inp.distances.shape[0]
    covered, _, dkey = unpack(zbuf)
    covered = covered.view(g_count * num_views, -1)
    dkey = dkey.view(g_count * num_views, -1)
    kmax = torch.where(covered, dkey, -1).max(1).values
    kmin = torch.where(covered, dkey, 1 << 62).min(1).values
    q_lo = inp.q_lo.t().reshape(-1)
    scale = inp.key_scale.t().reshape(-1)
    dist = inp.distances.repeat_interleave(num_views)
    q_near = q_lo + kmax.double() / scale
    q_far = q_lo + kmin.double() / scale
    dmin = dist - q_near if ortho else 1.0 / q_near
    dmax = dist - q_far if ortho else 1.0 / q_far
    if depth_range_mm is not None:
        dmin = dist - depth_range_mm
        dmax = dist + depth_range_mm
    span = dmax - dmin
    dscale = torch.where(span > 0, 254.0 / span.clamp_min(1e-300),
                         torch.zeros_like(span)).float()
    return dmax.float(), dscale


def shade(zbuf: torch.Tensor, inp: ShadeInputs, num_views: int,
          height: int, width: int, ortho: bool,
          depth_range_mm: Optional[float], light_dir, ambient: float,
          channels: Dict[str, int], images: torch.Tensor,
          depth_mm: Optional[torch.Tensor],
          face_index: Optional[torch.Tensor], max_pixels: int):
    """Shade every covered pixel of a group.

    Args:
        zbuf (torch.Tensor): ``(G * V * H * W,)`` from
            :func:`~.rasterize.rasterize`.
        inp (ShadeInputs): The group's per-vertex and per-face data.
        num_views, height, width (int): V, H, W.
        ortho (bool): Orthographic, else perspective.
        depth_range_mm (float, optional): Fixed 8-bit depth window, mm.
        light_dir (Sequence[float]): Unit light direction, camera frame.
        ambient (float): Ambient term in [0, 1].
        channels (dict[str, int]): First channel of each rendered modality.
        images (torch.Tensor): ``(G * V * H * W, C)`` uint8 zeros, written.
        depth_mm (torch.Tensor, optional): ``(G * V * H * W,)`` float32
            zeros, written with depth in mm.
        face_index (torch.Tensor, optional): ``(G * V * H * W,)`` int64,
            filled with -1, written with the face index within its mesh.
        max_pixels (int): Pixels shaded at a time.

    Returns:
        torch.Tensor: ``(G * V,)`` int64 covered pixels per view.
    """
    dev = zbuf.device
    npix_view = height * width
    covered, face_all, dkey_all = unpack(zbuf)
    counts = covered.view(-1, npix_view).sum(1)
    need_normal = 'normal' in channels or 'shading' in channels
    need_depth = 'depth' in channels or depth_mm is not None
    if need_depth:
        dnear, dscale = depth_normalisation(zbuf, inp, num_views, ortho,
                                            depth_range_mm)
    q_lo = inp.q_lo.t().reshape(-1)
    key_scale = inp.key_scale.t().reshape(-1)
    one = torch.tensor(1.0, device=dev)
    nvert = inp.xy.shape[1]
    xs, ys = inp.xy[..., 0].reshape(-1), inp.xy[..., 1].reshape(-1)
    qs_all = inp.q.reshape(-1)
    cam_n = (None if inp.cam_normals is None else
             inp.cam_normals.reshape(-1, 3))
    pixels = torch.nonzero(covered).squeeze(1)
    for c0 in range(0, pixels.numel(), max_pixels):
        p = pixels[c0:c0 + max_pixels]
        gv = p // npix_view
        g, v = gv // num_views, gv % num_views
        rem = p % npix_view
        row, col = rem // width, rem % width
        f = face_all[p]
        out = {}
        if face_index is not None:
            face_index[p] = f - inp.face_start[g]
        if need_depth:
            qk = q_lo[gv] + dkey_all[p].double() / key_scale[gv]
            d = (inp.distances[g] - qk if ortho else 1.0 / qk).float()
            if depth_mm is not None:
                depth_mm[p] = d
            val = (1.5 + (dnear[gv] - d) * dscale[gv]).clamp(1.0, 255.0)
            out['depth'] = torch.where(dscale[gv] > 0, val,
                                       255.0 * one)[:, None]
        if 'mask' in channels:
            out['mask'] = torch.full((p.numel(), 1), 255.0, device=dev)
        idx = inp.faces[f]  # (n, 3)
        corners = corner_index(inp.faces, nvert, v, f)
        x, y = xs[corners], ys[corners]
        area = ((x[:, 1] - x[:, 0]) * (y[:, 2] - y[:, 0]) -
                (y[:, 1] - y[:, 0]) * (x[:, 2] - x[:, 0]))
        _, w, s = edge_weights(x, y, area, row, col)
        inv = 1.0 / area.abs().double()
        b0 = (w[:, 0].double() * inv).float()
        b1 = (w[:, 1].double() * inv).float()
        b2 = 1.0 - b0 - b1
        if not ortho:
            qs = qs_all[corners].float()
            b0, b1, b2 = b0 * qs[:, 0], b1 * qs[:, 1], b2 * qs[:, 2]
            r = 1.0 / (b0 + b1 + b2)
            b0, b1, b2 = b0 * r, b1 * r, b2 * r
        bw = torch.stack([b0, b1, b2], 1)[:, :, None]  # (n, 3, 1)
        grey = None
        if need_normal:
            cn = cam_n[corners]  # (n, 3, 3): corner, axis
            n = cn[:, 0] * b0[:, None] + cn[:, 1] * b1[:, None] + \
                cn[:, 2] * b2[:, None]
            norm2 = (n * n).sum(1)
            # Two-sided: seen from its back, a triangle shows its flipped
            # normal (s > 0: clockwise on screen, the back side).
            sign = torch.where(s > 0, -1.0, 1.0)
            ok = norm2 > 1e-20
            rn = sign / norm2.clamp_min(1e-30).sqrt()
            n = torch.where(ok[:, None], n * rn[:, None],
                            torch.tensor([0.0, 0.0, 1.0], device=dev))
            out['normal'] = (n * 127.5 + 128.0).clamp_max(255.0)
            light = torch.tensor(light_dir, dtype=torch.float32, device=dev)
            lam = (n * light).sum(1).clamp_min(0.0)
            grey = (255.0 * (ambient + (1.0 - ambient) * lam) +
                    0.5).clamp_max(255.0)[:, None]
            out['shading'] = grey
        if 'rgb' in channels:
            out['rgb'] = _colors(inp, f, g, idx, bw, grey, dev)
        for name, first in channels.items():
            vals = out[name]
            images[p, first:first + vals.shape[1]] = _u8(vals)
    return counts


def _colors(inp: ShadeInputs, f, g, idx, bw, grey, dev):
    """``(n, 3)`` float32 rgb before the uint8 cast: bilinear texture,
    vertex colour, or the grey shading (0 without normals, as numba)."""
    src = inp.color_source[g]
    rgb = torch.zeros((f.numel(), 3), device=dev)
    if grey is not None:
        rgb = torch.where((src == 0)[:, None], grey.expand(-1, 3), rgb)
    if inp.vertex_colors is not None:
        vc = inp.vertex_colors[idx].float()  # (n, 3 corners, 3)
        col = (vc[:, 0] * bw[:, 0] + vc[:, 1] * bw[:, 1] +
               vc[:, 2] * bw[:, 2] + 0.5)
        rgb = torch.where((src == 1)[:, None], col, rgb)
    if inp.tex_flat is not None:
        tex = src == 2
        uv = inp.texel_uv[f]  # (n, 3, 2)
        fxy = uv[:, 0] * bw[:, 0] + uv[:, 1] * bw[:, 1] + uv[:, 2] * bw[:, 2]
        tw, th = inp.tex_width[g], inp.tex_height[g]
        # NaN fails ``> 0`` and becomes 0 (then a texel inside).
        fx = torch.where(fxy[:, 0] > 0, fxy[:, 0], 0.0)
        fy = torch.where(fxy[:, 1] > 0, fxy[:, 1], 0.0)
        fx = torch.minimum(fx, (tw - 1).float())
        fy = torch.minimum(fy, (th - 1).float())
        # The left / upper texel stops one short of the last column / row,
        # so the right / lower neighbours always exist.
        tx = torch.minimum(fx.long(), (tw - 2).clamp_min(0))
        ty = torch.minimum(fy.long(), (th - 2).clamp_min(0))
        ax, ay = fx - tx.float(), fy - ty.float()
        k00 = inp.tex_offset[g] + (ty * tw + tx) * 3
        dx = torch.where(tw > 1, 3, 0)
        dy = torch.where(th > 1, 3 * tw, 0)
        k00 = torch.where(tex, k00, 0)
        dx, dy = torch.where(tex, dx, 0), torch.where(tex, dy, 0)
        ch = torch.arange(3, device=dev)
        t = [
            inp.tex_flat[(k + ch[None]).clamp_max(inp.tex_flat.numel() -
                                                  1)].float()
            for k in ((k00)[:, None], (k00 + dx)[:, None],
                      (k00 + dy)[:, None], (k00 + dy + dx)[:, None])
        ]
        w00 = ((1.0 - ax) * (1.0 - ay))[:, None]
        w01 = (ax * (1.0 - ay))[:, None]
        w10 = ((1.0 - ax) * ay)[:, None]
        w11 = (ax * ay)[:, None]
        col = w00 * t[0] + w01 * t[1] + w10 * t[2] + w11 * t[3] + 0.5
        rgb = torch.where(tex[:, None], col, rgb)
    return rgb
