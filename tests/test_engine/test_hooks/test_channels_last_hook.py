# Copyright (c) mmfer4d contributors. All rights reserved.
"""ChannelsLastHook: the layout changes, the values and training do not."""
import copy
import os.path as osp
from types import SimpleNamespace

import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmpretrain.models import ResNet
from torch import nn

from mmfer4d.engine.hooks import ChannelsLastHook
from mmfer4d.utils import safe_load_checkpoint


class TinyConvNet(BaseModel):
    """A small ResNet and a linear classifier on 3 x 32 x 32 images."""

    def __init__(self):
        super().__init__()
        self.backbone = ResNet(depth=18, base_channels=8, stem_channels=8,
                               out_indices=(3, ))
        self.fc = nn.Linear(64, 3)

    def forward(self, inputs, labels=None, mode='tensor'):
        feat = self.backbone(inputs)[-1].mean((2, 3))
        logits = self.fc(feat)
        if mode == 'loss':
            return dict(loss=nn.functional.cross_entropy(logits, labels))
        return logits


def is_channels_last(t):
    return t.is_contiguous(memory_format=torch.channels_last)


def test_converts_4d_weights_and_keeps_values():
    torch.manual_seed(0)
    model = TinyConvNet().eval()
    reference = copy.deepcopy(model)
    x = torch.randn(4, 3, 32, 32)
    params = {id(p) for p in model.parameters()}
    ChannelsLastHook().before_run(SimpleNamespace(model=model))
    weights4d = [p for p in model.parameters() if p.dim() == 4]
    assert weights4d and all(is_channels_last(p) for p in weights4d)
    # Not channels-last before (a C x 3 x 3 x 3 conv weight is not).
    assert not is_channels_last(reference.backbone.conv1.weight)
    # The same parameter objects: an optimizer built before still holds them.
    assert {id(p) for p in model.parameters()} == params
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference(x), rtol=1e-4,
                                   atol=1e-5)


def test_disabled_hook_leaves_the_model():
    model = TinyConvNet()
    ChannelsLastHook(enabled=False).before_run(SimpleNamespace(model=model))
    assert not is_channels_last(model.backbone.conv1.weight)


class ToyData(torch.utils.data.Dataset):

    def __len__(self):
        return 24

    def __getitem__(self, idx):
        g = torch.Generator().manual_seed(idx)
        label = idx % 3
        image = torch.randn(3, 32, 32, generator=g) + label
        return dict(inputs=image, labels=label)


def collate(batch):
    return dict(inputs=torch.stack([b['inputs'] for b in batch]),
                labels=torch.tensor([b['labels'] for b in batch]))


def test_training_with_the_hook_updates_and_saves_loadable_weights(tmp_path):
    torch.manual_seed(0)
    model = TinyConvNet()
    before = copy.deepcopy(model.state_dict())
    runner = Runner(
        model=model,
        work_dir=str(tmp_path),
        train_dataloader=dict(dataset=ToyData(), batch_size=8,
                              sampler=dict(type='DefaultSampler',
                                           shuffle=False),
                              collate_fn=collate),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05)),
        custom_hooks=[dict(type='ChannelsLastHook')],
        default_hooks=dict(checkpoint=dict(type='CheckpointHook',
                                           interval=2)),
        default_scope='mmfer4d')
    runner.train()
    conv = runner.model.backbone.conv1.weight
    assert is_channels_last(conv)  # the optimizer updated it in place
    assert not torch.equal(conv.detach(), before['backbone.conv1.weight'])
    ckpt = safe_load_checkpoint(osp.join(str(tmp_path), 'epoch_2.pth'))
    fresh = TinyConvNet()
    fresh.load_state_dict(ckpt['state_dict'])
    torch.testing.assert_close(fresh.backbone.conv1.weight, conv.detach())
