# Tiny, self-contained train/val/test config for the tool tests: a ResNet-18
# with 8 base channels on 32 px PNGs in class folders (mmpretrain's
# CustomDataset). The tests pass the folder with
#   --cfg-options train_dataloader.dataset.data_root=DIR
#                 val_dataloader.dataset.data_root=DIR
#                 test_dataloader.dataset.data_root=DIR
_base_ = [
    '../../../configs/_base_/default_runtime.py',
    '../../../configs/_base_/schedules/sgd_coslr_50e.py',
]

model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(
        num_classes=2, mean=[127.5] * 3, std=[127.5] * 3, to_rgb=True),
    backbone=dict(
        type='ResNet',
        depth=18,
        stem_channels=8,
        base_channels=8,
        num_stages=4,
        out_indices=(3, ),
        style='pytorch'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=2,
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )))

pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
dataset = dict(type='CustomDataset', data_root='', pipeline=pipeline)

train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    # mmpretrain's tools/train.py turns it on unless told otherwise.
    persistent_workers=False,
    dataset=dataset,
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dataset,
    sampler=dict(type='DefaultSampler', shuffle=False))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator

train_cfg = dict(max_epochs=1)
param_scheduler = dict(T_max=1)
default_hooks = dict(logger=dict(interval=1))
