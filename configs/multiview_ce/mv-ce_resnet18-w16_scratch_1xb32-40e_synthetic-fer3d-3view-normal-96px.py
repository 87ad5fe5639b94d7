# Supervised multi-view baseline for the `make demo` table: the same
# backbone, views, fusion, data, split and schedule as the SMILE-VLM demo
# run, trained with cross-entropy only (a linear classifier on the fused
# embedding; no text tower, no Barlow Twins or contrastive loss). The
# difference between the two rows is what the vision-language losses add.
_base_ = ['../smile_vlm/smile-vlm_resnet18-w16_scratch_1xb32-40e_'
          'synthetic-fer3d-3view-normal-96px.py']

model = dict(
    _delete_=True,
    type='MultiViewClassifier',
    # The vision side of the SMILE-VLM run, from scratch.
    backbone=_base_.model.backbone,
    neck=_base_.model.neck,
    projector=_base_.model.projector,
    view_fusion=_base_.model.view_fusion,
    temporal_fusion=_base_.model.temporal_fusion,
    temporal_fusion_order=_base_.model.temporal_fusion_order,
    head=dict(
        type='LinearClsHead',
        num_classes=6,
        in_channels=128,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
