# Copyright (c) mmfer4d contributors. All rights reserved.
"""Per-vertex work of the torch backend: normals and projection.

The same arithmetic as the numba kernels (:mod:`..kernels.common`,
:func:`..kernels.rasterize.project_view`), vectorised over the meshes of a
group and all views: positions in float64, snapped to 16-bit sub-pixel
fixed point (int64 here, the values of numba's int32) after clamping to
``+-2**14`` px; ``q`` (camera ``z`` orthographic, ``1 / depth``
perspective; NaN nearer than the near plane) rounded to float32 as numba
stores it.
"""
from typing import Tuple

import torch

SUBPIXEL_BITS = 16
ONE = 1 << SUBPIXEL_BITS
HALF = ONE >> 1
CLAMP_PX = float(1 << 14)


def vertex_normals(vertices: torch.Tensor,
                   faces: torch.Tensor) -> torch.Tensor:
    """Area-weighted unit vertex normals (right-hand winding).

    Args:
        vertices (torch.Tensor): ``(N, 3)`` float32 positions, mm.
        faces (torch.Tensor): ``(F, 3)`` int64 indices into ``vertices``
            (several meshes may be packed: faces never cross meshes).

    Returns:
        torch.Tensor: ``(N, 3)`` float32; ``(0, 0, 1)`` for a vertex whose
        faces' normals sum to zero (or that has no face).
    """
    a, b, c = (vertices[faces[:, k]] for k in range(3))
    u, v = b - a, c - a
    # The cross product is twice the area times the unit normal: summing it
    # weights each face by its area.
    n = torch.stack([
        u[:, 1] * v[:, 2] - u[:, 2] * v[:, 1],
        u[:, 2] * v[:, 0] - u[:, 0] * v[:, 2],
        u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]
    ], 1)
    acc = torch.zeros_like(vertices)
    for k in range(3):
        acc.index_add_(0, faces[:, k], n)
    norm = acc.norm(dim=1, keepdim=True)
    up = torch.tensor([0.0, 0.0, 1.0], dtype=acc.dtype, device=acc.device)
    return torch.where(norm > 0, acc / norm.clamp_min(1e-30), up)


def project_vertices(vertices: torch.Tensor, vertex_mesh: torch.Tensor,
                     rotations: torch.Tensor, centers: torch.Tensor,
                     scales: torch.Tensor, distances: torch.Tensor,
                     ortho: bool, near_mm: float, cx: float,
                     cy: float) -> Tuple[torch.Tensor, torch.Tensor]:
    """Project packed vertices into every view.

    Args:
        vertices (torch.Tensor): ``(N, 3)`` float32 world positions, mm,
            of G meshes packed.
        vertex_mesh (torch.Tensor): ``(N,)`` int64 mesh of each vertex, in
            ``[0, G)``.
        rotations (torch.Tensor): ``(V, 3, 3)`` float64 world-to-camera.
        centers (torch.Tensor): ``(G, 3)`` float64 orbit centres, mm.
        scales (torch.Tensor): ``(G,)`` float64 px per mm (orthographic)
            or focal length in px (perspective).
        distances (torch.Tensor): ``(G,)`` float64 camera distances, mm.
        ortho (bool): Orthographic, else perspective.
        near_mm (float): Perspective near plane, mm.
        cx, cy (float): Principal point ``(W / 2, H / 2)``, px.

    Returns:
        tuple[torch.Tensor, torch.Tensor]: ``xy`` ``(V, N, 2)`` int64
        fixed-point screen positions (x right, y down, ``SUBPIXEL_BITS``
        fractional bits; 0 behind the near plane) and ``q`` ``(V, N)``
        float64 holding float32 values (NaN behind the near plane).
    """
    p = vertices.double() - centers[vertex_mesh]  # (N, 3)
    px, py, pz = p[:, 0], p[:, 1], p[:, 2]
    r = rotations[:, :, :, None]  # (V, 3, 3, 1): broadcast over vertices
    # Written out in numba's order (no fused multiply-add on either side).
    x = r[:, 0, 0] * px + r[:, 0, 1] * py + r[:, 0, 2] * pz
    y = r[:, 1, 0] * px + r[:, 1, 1] * py + r[:, 1, 2] * pz
    z = r[:, 2, 0] * px + r[:, 2, 1] * py + r[:, 2, 2] * pz
    scale = scales[vertex_mesh]
    if ortho:
        sx = cx + scale * x
        sy = cy - scale * y
        q = z
        behind = None
    else:
        depth = distances[vertex_mesh] - z
        behind = depth < near_mm
        sx = cx + scale * x / depth
        sy = cy - scale * y / depth
        q = 1.0 / depth
    sx = sx.clamp(-CLAMP_PX, CLAMP_PX)
    sy = sy.clamp(-CLAMP_PX, CLAMP_PX)
    xy = torch.stack([torch.floor(sx * ONE + 0.5),
                      torch.floor(sy * ONE + 0.5)], -1)
    q = q.float().double()
    if behind is not None:
        xy = xy.masked_fill(behind[..., None], 0.0)
        q = q.masked_fill(behind, float('nan'))
    return xy.long(), q


def camera_normals(normals: torch.Tensor,
                   rotations: torch.Tensor) -> torch.Tensor:
    """World unit normals ``(N, 3)`` float32 into each camera frame:
    ``(V, N, 3)`` float32 (float64 products, as numba)."""
    n = normals.double()
    r = rotations[:, :, :, None]
    out = [
        r[:, k, 0] * n[:, 0] + r[:, k, 1] * n[:, 1] + r[:, k, 2] * n[:, 2]
        for k in range(3)
    ]
    return torch.stack(out, -1).float()
