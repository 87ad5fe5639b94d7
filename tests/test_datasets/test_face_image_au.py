# Copyright (c) mmfer4d contributors. All rights reserved.
"""FaceImageAUDataset on hand-written fixtures in the shipped layouts:
BP4D's AU_OCC CSVs (header of AU numbers, frame rows, 0/1/9), DISFA's
``frame,intensity`` files, iBUG 300-W ``.pts`` landmark files."""
import os.path as osp
import sys

import cv2
import numpy as np
import pytest

from mmfer4d.datasets import FaceImageAUDataset, read_disfa_au, read_pts
from mmfer4d.datasets.transforms import LoadFaceImageAU, PackMultiViewInputs

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                            'test_models', 'test_utils'))
from face68 import face  # noqa: E402

# BP4D AU_OCC: frame column, then AU numbers 1..28 as shipped (only some
# used); codes 0, 1, 9 (not coded).
BP4D_HEADER = '0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,' \
    '23,24,25,26,27,28'
# frame 10: AU6 + AU12; frame 11: AU4 + AU7; frame 12: AU1 not coded (9).
BP4D_ROWS = (
    '10,0,0,0,0,0,1,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0',
    '11,0,0,0,1,0,0,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0',
    '12,9,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0',
)


def _pts_text(pts):
    body = '\n'.join(f'{x:.3f} {y:.3f}' for x, y in pts)
    return f'version: 1\nn_points:  68\n{{\n{body}\n}}\n'


def _image(path, shape=(120, 100)):
    img = np.zeros((*shape, 3), np.uint8)
    img[..., 2] = 200  # red in BGR order
    assert cv2.imwrite(str(path), img)


def make_bp4d(root):
    for subject in ('F001', 'M002'):
        d = root / subject / 'T1'
        d.mkdir(parents=True)
        for frame in (9, 10, 11, 12):  # frame 9 is not coded
            _image(d / f'{frame:04d}.jpg')
            (d / f'{frame:04d}.pts').write_text(
                _pts_text(face().numpy() + 5))
        occ = root / 'AUCoding' / 'AU_OCC'
        occ.mkdir(parents=True, exist_ok=True)
        (occ / f'{subject}_T1.csv').write_text(
            BP4D_HEADER + '\n' + '\n'.join(BP4D_ROWS) + '\n')
    return root


def make_disfa(root):
    for subject in ('SN001', 'SN002'):
        d = root / subject
        d.mkdir(parents=True)
        for frame in (1, 2):
            _image(d / f'{frame:04d}.jpg')
            (d / f'{frame:04d}.pts').write_text(_pts_text(face().numpy()))
        lab = root / 'ActionUnit_Labels' / subject
        lab.mkdir(parents=True)
        for au in (1, 2, 4, 6, 9, 12, 25, 26):
            # AU12 at 3 on frame 1 (occurs), AU25 at 1 (below 2: absent).
            levels = {12: '3', 25: '1'}
            (lab / f'{subject}_au{au}.txt').write_text(
                f'1,{levels.get(au, "0")}\n2,0\n')
    return root


def test_bp4d_frames(tmp_path):
    ds = FaceImageAUDataset(data_root=str(make_bp4d(tmp_path)),
                            layout='bp4d', num_folds=2, fold=0,
                            split='test')
    assert len(ds) == 3  # one subject, the three coded frames
    info = ds.get_data_info(0)
    names = ds.metainfo['au_names']
    assert names[:4] == ('AU1', 'AU2', 'AU4', 'AU6') and len(names) == 12
    assert info['frame'] == 10 and info['expression'] == 'happiness'
    on = [n for n, v in zip(names, info['au_labels']) if v == 1]
    assert on == ['AU6', 'AU12']
    assert ds.get_data_info(2)['au_labels'][0] == -1
    both = FaceImageAUDataset(data_root=str(tmp_path), layout='bp4d')
    assert len(both) == 6 and len(both.subjects) == 2


def test_disfa_frames_and_threshold(tmp_path):
    ds = FaceImageAUDataset(data_root=str(make_disfa(tmp_path)),
                            layout='disfa')
    assert len(ds) == 4
    info = ds.get_data_info(0)
    names = ds.metainfo['au_names']
    assert names == ('AU1', 'AU2', 'AU4', 'AU6', 'AU9', 'AU12', 'AU25',
                     'AU26')
    assert info['au_intensities'][names.index('AU12')] == 3
    assert info['au_labels'][names.index('AU12')] == 1
    assert info['au_labels'][names.index('AU25')] == 0
    low = FaceImageAUDataset(data_root=str(tmp_path), layout='disfa',
                             occurrence_threshold=1)
    assert low.get_data_info(0)['au_labels'][names.index('AU25')] == 1


def test_load_crop_and_pack(tmp_path):
    ds = FaceImageAUDataset(
        data_root=str(make_bp4d(tmp_path)), layout='bp4d',
        pipeline=[LoadFaceImageAU(size=64), PackMultiViewInputs()])
    out = ds[0]
    assert out['inputs'].shape == (1, 3, 64, 64)
    lm = out['data_samples'].landmarks_2d
    assert lm.shape == (1, 68, 2)
    # The crop is centred on the landmarks and they fill 1 / 1.3 of it.
    lo, hi = lm[0].min(0).values, lm[0].max(0).values
    assert np.allclose(((lo + hi) / 2).numpy(), 32, atol=0.5)
    assert float((hi - lo).max()) == pytest.approx(64 / 1.3, rel=1e-3)
    # RGB order: the red image is red.
    img = out['inputs'][0]
    centre = img[:, 32, 32]
    assert centre[0] > 150 and centre[2] < 50
    assert out['data_samples'].gt_au.shape == (12, )


def test_readers_and_errors(tmp_path):
    p = tmp_path / 'a.pts'
    p.write_text('version: 1\nn_points: 2\n{\n1 2\n3.5 4\n}\n')
    assert np.allclose(read_pts(str(p)), [[1, 2], [3.5, 4]])
    for text, match in (('version: 1\n1 2\n', 'not an iBUG'),
                        ('n_points: 2\n{\n1 2\n}\n', 'n_points is 2'),
                        ('n_points: 1\n{\n1 x\n}\n', 'point 1'),
                        ('n_points: 1\n{\n1 2\n', 'closing')):
        p.write_text(text)
        with pytest.raises(ValueError, match=match):
            read_pts(str(p))
    q = tmp_path / 'SN001_au1.txt'
    q.write_text('1,0\n2,7\n')
    with pytest.raises(ValueError, match='line 2: intensity 7'):
        read_disfa_au(str(q))
    q.write_text('1;0\n')
    with pytest.raises(ValueError, match='frame,intensity'):
        read_disfa_au(str(q))
    root = make_bp4d(tmp_path / 'bp4d')
    (root / 'F001' / 'T1' / '0010.pts').unlink()
    with pytest.raises(FileNotFoundError, match='0010.pts'):
        FaceImageAUDataset(data_root=str(root))
    with pytest.raises(ValueError, match='layout'):
        FaceImageAUDataset(data_root=str(root), layout='ck+')
    with pytest.raises(FileNotFoundError, match='no sample'):
        FaceImageAUDataset(data_root=str(tmp_path / 'bp4d' / 'AUCoding'))
    bad = make_disfa(tmp_path / 'disfa')
    (bad / 'ActionUnit_Labels' / 'SN001' / 'SN001_au26.txt').unlink()
    with pytest.raises(FileNotFoundError, match='SN001_au26.txt'):
        FaceImageAUDataset(data_root=str(bad), layout='disfa')
    img = tmp_path / 'broken.jpg'
    img.write_text('not an image')
    pts = tmp_path / 'broken.pts'
    pts.write_text(_pts_text(face().numpy()))
    with pytest.raises(FileNotFoundError, match='broken.jpg'):
        LoadFaceImageAU()(dict(img_path=str(img), landmark_path=str(pts)))
