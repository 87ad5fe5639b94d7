# SMILE-VLM (Behzad, arXiv 2506.01203). See README.md in this folder.
# Linear probe on the frozen fused embedding.
_base_ = [
    '../_base_/models/smile_vlm.py',
    '../_base_/datasets/bu3dfe.py',
    '../_base_/schedules/adamw_cosine_50e.py',
    '../_base_/default_runtime.py',
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
        in_channels=512,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
    # The SMILE-VLM pre-training checkpoint (head keys are missing
    # and text keys unused: both are reported, not errors).
    init_cfg=dict(
        type='Pretrained',
        checkpoint='work_dirs/smile-vlm_resnet50_scratch_8xb32-50e_'
        'bu3dfe-3view/'
        'epoch_50.pth'))

# Linear probe: only the head trains (standard SSL protocol).
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=0.0))
