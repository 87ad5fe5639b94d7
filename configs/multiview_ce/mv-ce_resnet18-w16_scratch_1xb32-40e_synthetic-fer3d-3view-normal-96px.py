# Supervised multi-view baseline for the `make demo` table: the same
# backbone, views, fusion, data, split and schedule as SMILE-VLM, trained
# with cross-entropy only (a linear classifier on the fused embedding; no
# text tower, no Barlow Twins or contrastive loss). The difference between
# the two rows is what the vision-language losses add.
_base_ = ['./smile-vlm_resnet18-w16_scratch_1xb32-40e_synthetic-fer3d-3view-normal-96px.py']

model = dict(
    predict_mode='head',
    text_encoder=None,
    head=dict(
        type='LinearClsHead',
        num_classes=6,
        in_channels=128,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
