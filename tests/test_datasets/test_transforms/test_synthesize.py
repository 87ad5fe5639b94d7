# Copyright (c) mmfer4d contributors. All rights reserved.
import numpy as np
import pytest

from mmfer4d.datasets import SyntheticFER3D, SyntheticFER4D
from mmfer4d.registry import TRANSFORMS
from mmfer4d.synthesis import load_face_model


def test_synthesize_face_mesh():
    data = SyntheticFER3D(num_subjects=1)
    t = TRANSFORMS.build(dict(type='SynthesizeFaceMesh', texture_size=32))
    results = t(dict(data.get_data_info(0)))
    mesh = results['mesh'].validate()
    assert mesh.num_vertices == load_face_model().num_vertices
    assert mesh.texture.shape == (32, 32, 3)
    with pytest.raises(KeyError, match='synth_params'):
        t(dict(gt_label=0))
    assert 'SynthesizeFaceMesh' in repr(t)


def test_synthesize_face_sequence():
    data = SyntheticFER4D(num_subjects=1, num_frames=20)
    info = data.get_data_info(0)
    t = TRANSFORMS.build(dict(type='SynthesizeFaceSequence',
                              with_texture=False))
    out = t(dict(info, frame_inds=np.array([0, 5, 19])))
    assert len(out['meshes']) == 3
    assert out['frame_inds'].dtype == np.int64
    full = t(dict(info))
    assert len(full['meshes']) == 20
    np.testing.assert_array_equal(full['meshes'][5].vertices,
                                  out['meshes'][1].vertices)
    with pytest.raises(IndexError):
        t(dict(info, frame_inds=np.array([20])))
