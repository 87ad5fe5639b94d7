# SMILE-VLM (Behzad, arXiv 2506.01203): linear probe of the `make demo`
# model (normal maps, mirror + warp augmentation). As the depth + normal
# probe: everything frozen (BN statistics too), a linear layer on the fused
# embedding (D = 128) trained with cross-entropy on the training subjects.
# tools/demo.py points `init_cfg.checkpoint` at the checkpoint of the run
# it has just trained.
_base_ = ['./smile-vlm_resnet18-w16_scratch_1xb32-40e_'
          'synthetic-fer3d-3view-normal-96px.py']

max_epochs = 10

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
        in_channels=128,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
    init_cfg=dict(
        type='Pretrained',
        checkpoint='work_dirs/demo/smile-vlm/epoch_40.pth'))

optim_wrapper = dict(optimizer=dict(lr=1e-2, weight_decay=0.0))
# The frozen model's forward is light, so rendering bounds the probe (data
# time was two thirds of its iterations with one worker): two workers.
train_dataloader = dict(num_workers=2)
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=1e-5,
         by_epoch=True, begin=0, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(checkpoint=dict(interval=max_epochs))
