# SMILE-VLM (Behzad, arXiv 2506.01203). See README.md in this folder.
# Linear probe of the tiny pre-trained model.
_base_ = [
    './smile-vlm_resnet18-w16_scratch_1xb32-20e_synthetic-fer3d-3view.py'
]

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
    # The SMILE-VLM pre-training checkpoint (head keys are missing
    # and text keys unused: both are reported, not errors).
    init_cfg=dict(
        type='Pretrained',
        checkpoint='work_dirs/smile-vlm_resnet18-w16_scratch_1xb32-20e_'
        'synthetic-fer3d-3view/'
        'epoch_20.pth'))

# Linear probe: only the head trains (standard SSL protocol).
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=0.0))
