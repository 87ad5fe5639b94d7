# Copyright (c) mmfer4d contributors. All rights reserved.
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper
from mmengine.registry import DefaultScope
from mmpretrain.structures import DataSample

from mmfer4d.datasets.transforms import PackMultiViewInputs
from mmfer4d.models.data_preprocessors import MultiViewDataPreprocessor
from mmfer4d.registry import MODELS


def _batch(num=2, frames=None, v=3, c=4, h=4, w=5, modalities=None):
    samples = []
    for i in range(num):
        views = [
            np.full((h, w, c), 10 * i + j, np.uint8) +
            np.arange(c, dtype=np.uint8) * 50 for j in range(v)
        ]
        results = dict(
            img=views if frames is None else [views] * frames,
            gt_label=i,
            sample_idx=i)
        if modalities is not None:
            results['modalities'] = modalities
        samples.append(PackMultiViewInputs()(results))
    return pseudo_collate(samples)


def test_mean_std_per_channel():
    data = _batch()
    mean, std = [1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 5.0, 10.0]
    pre = MODELS.build(
        dict(type='MultiViewDataPreprocessor', mean=mean, std=std))
    out = pre(data, training=True)
    inputs = out['inputs']
    assert inputs.shape == (2, 3, 4, 4, 5) and inputs.dtype == torch.float32
    # Sample 1, view 2, channel 3 holds 10 + 2 + 150 = 162.
    assert inputs[1, 2, 3, 0, 0].item() == pytest.approx((162 - 4) / 10)
    assert inputs[0, 0, 1, 3, 4].item() == pytest.approx((50 - 2) / 4)
    assert len(out['data_samples']) == 2
    assert out['data_samples'][1].gt_label.tolist() == [1]


def test_modality_mean_std_and_sequences():
    data = _batch(frames=2, modalities=('depth', 'normal'))
    pre = MultiViewDataPreprocessor(
        modality_mean_std=dict(
            depth=(100.0, 50.0), normal=([1.0, 2.0, 3.0], [1.0, 1.0, 2.0])))
    out = pre(data, training=False)['inputs']
    assert out.shape == (2, 2, 3, 4, 4, 5)
    assert out[0, 1, 0, 0, 0, 0].item() == pytest.approx((0 - 100) / 50)
    assert out[1, 0, 2, 3, 0, 0].item() == pytest.approx((162 - 3) / 2)
    # Modalities from the argument when the samples do not carry them.
    pre = MultiViewDataPreprocessor(
        modality_mean_std=dict(depth=(0, 2), normal=(0, 1)),
        modalities=('depth', 'normal'))
    assert pre(_batch())['inputs'][1, 0, 0, 0, 0].item() == 5.0
    with pytest.raises(ValueError, match='no entry'):
        MultiViewDataPreprocessor(modality_mean_std=dict(depth=(0, 1)))(
            _batch(modalities=('depth', 'normal')))


def test_cast_only_and_stacked_input():
    data = _batch()
    out = MultiViewDataPreprocessor()(data)['inputs']
    assert out.dtype == torch.float32 and out[1, 2, 3, 0, 0].item() == 162
    data['inputs'] = torch.stack(data['inputs'])  # default_collate style
    assert MultiViewDataPreprocessor()(data)['inputs'].shape == (2, 3, 4, 4, 5)


def test_errors():
    with pytest.raises(ValueError, match='both mean and std'):
        MultiViewDataPreprocessor(mean=[1.0])
    with pytest.raises(ValueError, match='unknown modality'):
        MultiViewDataPreprocessor(modality_mean_std=dict(thermal=(0, 1)))
    with pytest.raises(ValueError, match='needs 3 values'):
        MultiViewDataPreprocessor(
            modality_mean_std=dict(normal=([0, 0], [1, 1])))
    with pytest.raises(ValueError, match='3 channels'):
        MultiViewDataPreprocessor(mean=[0, 0, 0], std=[1, 1, 1])(_batch())
    data = _batch()
    data['inputs'][1] = data['inputs'][1][:, :, :3]
    with pytest.raises(ValueError, match='differ in shape'):
        MultiViewDataPreprocessor()(data)


class _TinyModel(BaseModel):

    def __init__(self, data_preprocessor):
        super().__init__(data_preprocessor=data_preprocessor)
        self.weight = torch.nn.Parameter(torch.ones(1))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        assert inputs.dim() == 5
        value = (inputs.mean() * self.weight).sum()
        if mode == 'loss':
            return dict(loss=value)
        return data_samples


def test_inside_model_train_and_val_step():
    # The Runner sets default_scope='mmfer4d' from the config.
    with DefaultScope.overwrite_default_scope('mmfer4d'):
        model = _TinyModel(
            dict(
                type='MultiViewDataPreprocessor', mean=[0] * 4, std=[255] * 4))
    assert isinstance(model.data_preprocessor, MultiViewDataPreprocessor)
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    log = model.train_step(_batch(), optim)
    assert torch.isfinite(log['loss'])
    assert model.weight.item() != 1.0
    preds = model.val_step(_batch())
    assert len(preds) == 2


@pytest.mark.parametrize('kwargs,channels', [
    (dict(modalities=('depth', 'normal')), 4),
    (dict(modalities=('normal', ), modality_mean_std=dict(
        normal=(127.5, 127.5))), 3),
    (dict(mean=[0] * 5, std=[1] * 5), 5),
    (dict(), None),
])
def test_num_channels(kwargs, channels):
    assert MultiViewDataPreprocessor(**kwargs).num_channels == channels


def test_modalities_must_match_the_renders():
    pre = MultiViewDataPreprocessor(
        modalities=('normal', ),
        modality_mean_std=dict(depth=(0, 1), normal=(0, 1)))
    sample = DataSample(metainfo=dict(modalities=('depth', 'normal')))
    with pytest.raises(ValueError, match='rendered as'):
        pre(dict(inputs=[torch.zeros(3, 4, 8, 8, dtype=torch.uint8)],
                 data_samples=[sample]))
    with pytest.raises(ValueError, match='unknown modalities'):
        MultiViewDataPreprocessor(modalities=('depth', 'thermal'))
    with pytest.raises(ValueError, match='channels'):
        MultiViewDataPreprocessor(
            mean=[0] * 4, std=[1] * 4, modalities=('normal', ))
