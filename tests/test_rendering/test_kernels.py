# Copyright (c) mmfer4d contributors. All rights reserved.
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from mmfer4d.rendering import MultiViewRenderer, kernel_cache_stats
from mmfer4d.structures.mesh import Mesh


def _tiny_mesh():
    # One triangle, large enough (about 11 % of the default 95 mm frame)
    # not to be a blank render.
    return Mesh(vertices=np.array([[0, 0, 0], [90, 0, 0], [0, 90, 0]]),
                faces=np.array([[0, 1, 2]]))


def test_one_signature_for_all_inputs():
    mesh = _tiny_mesh()
    before = kernel_cache_stats()['signatures']
    tex = np.zeros((4, 4, 3), np.uint8)
    tex.flags.writeable = False  # read-only arrays must not add a signature
    variants = [
        mesh,
        mesh.copy(vertex_colors=np.zeros((3, 3), np.uint8)),
        mesh.copy(face_uvs=np.zeros((1, 3, 2)), texture=tex),
        mesh.copy(vertices=np.asfortranarray(mesh.vertices.astype('f8'))),
    ]
    for modalities in [('mask', ), ('depth', 'normal', 'rgb', 'shading')]:
        for ortho in (True, False):
            renderer = MultiViewRenderer(
                views=('front', 'left'), size=8, modalities=modalities,
                ortho=ortho)
            for m in variants:
                renderer.render(m, return_depth=True)
    assert kernel_cache_stats()['signatures'] == max(before, 1)


class _MeshDataset(Dataset):

    def __len__(self):
        return 4

    def __getitem__(self, idx):
        from numba.core import event
        with event.install_recorder('numba:compile') as rec:
            MultiViewRenderer(size=8, modalities=('depth', )).render(
                _tiny_mesh())
        stats = kernel_cache_stats()
        return torch.tensor(
            [len(rec.buffer), stats['cache_misses'], stats['signatures']])


def test_dataloader_workers_do_not_compile():
    # 'spawn' starts fresh interpreters (as a fresh process on any machine
    # would be): after the parent has filled the on-disk cache, each worker
    # must load the one kernel signature from it without compiling.
    MultiViewRenderer(size=8).render(_tiny_mesh())
    loader = DataLoader(
        _MeshDataset(), batch_size=1, num_workers=2,
        multiprocessing_context='spawn')
    rows = torch.cat(list(loader))
    assert rows.shape == (4, 3)
    assert (rows[:, 0] == 0).all()  # no compile event
    assert (rows[:, 1] == 0).all()  # no cache miss
    assert (rows[:, 2] == 1).all()  # one signature


def test_entry_kernel_pins_its_callees_sources():
    # numba keys render_kernel's cache on entry.py only; a changed pass in
    # another file must change entry.py (its pinned digest) or a cached,
    # stale render_kernel would keep running (numba issue #1833).
    from mmfer4d.rendering import kernels
    assert kernels.CALLEE_SOURCE_DIGEST == kernels.callee_source_digest(), (
        'update CALLEE_SOURCE_DIGEST in mmfer4d/rendering/kernels/entry.py')
