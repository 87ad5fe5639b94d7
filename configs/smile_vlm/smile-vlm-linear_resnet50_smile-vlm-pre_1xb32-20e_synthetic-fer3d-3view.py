# SMILE-VLM (Behzad, arXiv 2506.01203): linear probe of the real-size demo
# model (tools/demo.py --full points `init_cfg.checkpoint` at each fold's
# pre-training checkpoint). Everything frozen; a linear layer on the fused
# embedding (D = 512) trained with cross-entropy for 20 epochs.
_base_ = ['./smile-vlm_resnet50_scratch_1xb32-50e_synthetic-fer3d-3view.py']

max_epochs = 20

model = dict(
    _delete_=True,
    type='MultiViewClassifier',
    # The vision side of the pre-trained model.
    backbone=_base_.model.backbone,
    neck=_base_.model.neck,
    projector=_base_.model.projector,
    view_fusion=_base_.model.view_fusion,
    temporal_fusion=_base_.model.temporal_fusion,
    temporal_fusion_order=_base_.model.temporal_fusion_order,
    freeze=True,
    head=dict(
        type='LinearClsHead',
        num_classes=6,
        in_channels=512,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
    init_cfg=dict(
        type='Pretrained',
        checkpoint='work_dirs/demo-full/smile-vlm/fold0/epoch_50.pth'))

optim_wrapper = dict(optimizer=dict(lr=1e-2, weight_decay=0.0))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=1e-5,
         by_epoch=True, begin=0, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(checkpoint=dict(interval=max_epochs))
