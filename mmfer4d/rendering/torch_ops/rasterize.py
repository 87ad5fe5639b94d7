# Copyright (c) mmfer4d contributors. All rights reserved.
"""Visibility pass of the torch backend: a per-triangle bounding-box
scatter into one packed z-buffer for all meshes and views of a group.

Every triangle of every view (``V x F`` of them) gets the integer bounding
box of the pixel centres it may cover, with numba's exact integer edge
functions, top-left rule and degenerate / near-plane tests
(:func:`..kernels.rasterize.rasterize_view`): the same pixels are covered,
bit for bit. The boxes' pixels are enumerated as flat candidate lists (a
cumulative sum of box areas and a ``searchsorted``), a bounded number at a
time, so memory does not grow with triangle size or count. Each covered
candidate writes one int64 key into the z-buffer with
``scatter_reduce(..., 'amin')``:

``key = (2**30 - depth key) << 32 | triangle``

where the depth key is numba's: ``q`` (larger = nearer) mapped affinely
from the view's range of vertex values onto ``[0, 2**30]`` and truncated.
The nearest surface wins and, on equal depth keys, the triangle first in
mesh order, as numba's strict ``>`` test in mesh order gives. Depth keys
come from the interpolated ``q`` at the pixel centre directly (numba steps
them along rows): they may differ by a unit (1e-7 mm for a 100 mm deep
face), which can only change the winner where two surfaces are within that
distance.
"""
from typing import Tuple

import torch

from .project import HALF, ONE, SUBPIXEL_BITS

KEY_BITS = 30
KEY_MAX = 1 << KEY_BITS
#: Z-buffer value of an empty pixel (above every key a surface can have).
ZBUF_EMPTY = torch.iinfo(torch.int64).max
_TRI_MASK = (1 << 32) - 1


def depth_key_range(q: torch.Tensor, vertex_mesh: torch.Tensor,
                    num_meshes: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Per-view, per-mesh ``q_lo`` and ``key_scale`` (``q = q_lo + key /
    key_scale``).

    Args:
        q (torch.Tensor): ``(V, N)`` float64, NaN behind the near plane.
        vertex_mesh (torch.Tensor): ``(N,)`` int64 mesh of each vertex.
        num_meshes (int): G.

    Returns:
        tuple[torch.Tensor, torch.Tensor]: ``(V, G)`` float64 each.
    """
    nv = q.shape[0]
    index = vertex_mesh.expand(nv, -1).contiguous()
    nan = torch.isnan(q)
    inf = torch.full((nv, num_meshes), float('inf'), dtype=q.dtype,
                     device=q.device)
    lo = inf.scatter_reduce(1, index, q.masked_fill(nan, float('inf')),
                            'amin')
    hi = (-inf).scatter_reduce(1, index, q.masked_fill(nan, -float('inf')),
                               'amax')
    span = hi - lo
    scale = torch.where(span > 0, KEY_MAX / span.clamp_min(1e-300),
                        torch.ones_like(span))
    return lo, scale


def corner_index(faces: torch.Tensor, num_vertices: int,
                 view: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
    """``(n, 3)`` int64 flat indices ``view * N + vertex`` of the corners
    of ``faces[face]`` in view ``view``, into ``(V * N,)`` flattened
    per-view vertex data (one gather per quantity)."""
    return faces[face] + (view * num_vertices)[:, None]


def triangle_setup(x: torch.Tensor, y: torch.Tensor, qc: torch.Tensor,
                   height: int, width: int):
    """Bounding boxes of pixel centres, signed area and draw flags.

    Args:
        x, y (torch.Tensor): ``(n, 3)`` int64 fixed-point corners.
        qc (torch.Tensor): ``(n, 3)`` float64 corner ``q``.
        height, width (int): Image size, px.

    Returns:
        tuple: ``jmin, imin, ncol, count`` (``(n,)`` int64; ``count`` the
        box's pixel count, 0 for a triangle that is not drawn: no pixel
        centre in its box, zero area or a corner behind the near plane)
        and ``area`` ``(n,)`` int64 (twice the signed area, y down).
    """
    jmin = ((x.min(1).values - HALF + ONE - 1) >> SUBPIXEL_BITS).clamp_min(0)
    jmax = ((x.max(1).values - HALF) >> SUBPIXEL_BITS).clamp_max(width - 1)
    imin = ((y.min(1).values - HALF + ONE - 1) >> SUBPIXEL_BITS).clamp_min(0)
    imax = ((y.max(1).values - HALF) >> SUBPIXEL_BITS).clamp_max(height - 1)
    x0, x1, x2 = x.unbind(1)
    y0, y1, y2 = y.unbind(1)
    area = (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)
    draw = ((jmin <= jmax) & (imin <= imax) & (area != 0)
            & ~torch.isnan(qc).any(1))
    ncol = (jmax - jmin + 1).clamp_min(0)
    count = torch.where(draw, ncol * (imax - imin + 1).clamp_min(0),
                        torch.zeros_like(ncol))
    return jmin, imin, ncol, count, area


def edge_weights(x: torch.Tensor, y: torch.Tensor, area: torch.Tensor,
                 row: torch.Tensor, col: torch.Tensor):
    """Exact integer edge functions at pixel centres, as numba.

    Args:
        x, y (torch.Tensor): ``(n, 3)`` int64 fixed-point corners.
        area (torch.Tensor): ``(n,)`` int64 doubled signed area.
        row, col (torch.Tensor): ``(n,)`` int64 pixel of each triangle.

    Returns:
        tuple: ``inside`` ``(n,)`` bool (top-left rule applied), ``w``
        ``(n, 3)`` int64 unbiased edge values (``w[:, k] / |area|`` is the
        screen-space weight of corner k) and ``s`` ``(n,)`` int64 sign of
        ``area``.
    """
    s = torch.where(area > 0, 1, -1)
    px = (col << SUBPIXEL_BITS) + HALF
    py = (row << SUBPIXEL_BITS) + HALF
    ws, inside = [], None
    # w0: edge 1 -> 2, w1: edge 2 -> 0, w2: edge 0 -> 1.
    for a, b in ((1, 2), (2, 0), (0, 1)):
        ex = s * (x[:, b] - x[:, a])
        ey = s * (y[:, b] - y[:, a])
        w = ex * (py - y[:, a]) - ey * (px - x[:, a])
        # Top-left rule: an edge owns the centres exactly on it when it goes
        # up, or is horizontal and goes right.
        owns = (ey < 0) | ((ey == 0) & (ex > 0))
        ok = torch.where(owns, w >= 0, w > 0)
        inside = ok if inside is None else inside & ok
        ws.append(w)
    return inside, torch.stack(ws, 1), s


def rasterize(faces: torch.Tensor, face_mesh: torch.Tensor,
              xy: torch.Tensor, q: torch.Tensor, q_lo: torch.Tensor,
              key_scale: torch.Tensor, num_meshes: int, height: int,
              width: int, max_triangles: int,
              max_candidates: int) -> torch.Tensor:
    """The packed z-buffer of G meshes x V views.

    Args:
        faces (torch.Tensor): ``(F, 3)`` int64 indices into the packed
            vertices of the group.
        face_mesh (torch.Tensor): ``(F,)`` int64 mesh of each face.
        xy, q (torch.Tensor): From
            :func:`~.project.project_vertices`: ``(V, N, 2)``, ``(V, N)``.
        q_lo, key_scale (torch.Tensor): ``(V, G)`` from
            :func:`depth_key_range`.
        num_meshes (int): G.
        height, width (int): Image size, px.
        max_triangles (int): Triangles (of all views) set up at a time.
        max_candidates (int): Bounding-box pixels tested at a time.

    Returns:
        torch.Tensor: ``(G * V * H * W,)`` int64, pixel ``((g * V + v) * H
        + i) * W + j``: ``(2**30 - depth key) << 32 | face`` (``face``
        indexes ``faces``), :data:`ZBUF_EMPTY` where nothing is drawn.
    """
    nv, nf, nvert = xy.shape[0], faces.shape[0], xy.shape[1]
    dev = faces.device
    xs, ys = xy[..., 0].reshape(-1), xy[..., 1].reshape(-1)
    qs = q.reshape(-1)
    zbuf = torch.full((num_meshes * nv * height * width, ), ZBUF_EMPTY,
                      dtype=torch.int64, device=dev)
    total = nv * nf
    for t0 in range(0, total, max_triangles):
        tv = torch.arange(t0, min(t0 + max_triangles, total), device=dev)
        view, face = tv // nf, tv % nf
        corners = corner_index(faces, nvert, view, face)
        x, y, qc = xs[corners], ys[corners], qs[corners]
        jmin, imin, ncol, count, area = triangle_setup(x, y, qc, height,
                                                       width)
        keep = count > 0
        if not bool(keep.any()):
            continue
        # Only drawn triangles enter the candidate lists.
        view, face, x, y, qc = (view[keep], face[keep], x[keep], y[keep],
                                qc[keep])
        jmin, imin, ncol, count, area = (jmin[keep], imin[keep], ncol[keep],
                                         count[keep], area[keep])
        mesh = face_mesh[face]
        base = (mesh * nv + view) * height
        ends = torch.cumsum(count, 0)
        starts = ends - count
        num = int(ends[-1])
        for c0 in range(0, num, max_candidates):
            cand = torch.arange(c0, min(c0 + max_candidates, num),
                                device=dev)
            k = torch.searchsorted(ends, cand, right=True)
            off = cand - starts[k]
            nc = ncol[k]
            row = imin[k] + off // nc
            col = jmin[k] + off % nc
            inside, w, _ = edge_weights(x[k], y[k], area[k], row, col)
            if not bool(inside.any()):
                continue
            k, row, col, w = k[inside], row[inside], col[inside], w[inside]
            inv = 1.0 / area[k].abs().double()
            b0 = w[:, 0].double() * inv
            b1 = w[:, 1].double() * inv
            qk = qc[k]
            q2 = qk[:, 2]
            qp = q2 + b0 * (qk[:, 0] - q2) + b1 * (qk[:, 1] - q2)
            vk, mk = view[k], mesh[k]
            dkey = ((qp - q_lo[vk, mk]) * key_scale[vk, mk]).long()
            dkey = dkey.clamp(0, KEY_MAX)
            packed = ((KEY_MAX - dkey) << 32) | face[k]
            pix = (base[k] + row) * width + col
            zbuf.scatter_reduce_(0, pix, packed, 'amin')
    return zbuf


def unpack(zbuf: torch.Tensor):
    """``(covered, face, depth_key)`` of a packed z-buffer: bool, int64
    face (garbage where not covered) and int64 depth key."""
    covered = zbuf != ZBUF_EMPTY
    face = zbuf & _TRI_MASK
    dkey = KEY_MAX - (zbuf >> 32)
    return covered, face, dkey
