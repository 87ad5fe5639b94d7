# SMILE-VLM (Behzad, arXiv 2506.01203). See README.md in this folder.
# Tiny 4D micro-expression config (5 classes as in 4DME).
_base_ = [
    '../_base_/models/smile_vlm_resnet18-w16.py',
    '../_base_/datasets/synthetic_mer4d.py',
    '../_base_/schedules/adamw_cosine_20e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    classes=('positive', 'negative', 'surprise', 'repression', 'others'),
    temporal_fusion=dict(type='AttentionTemporalFusion'),
    temporal_fusion_order='after')

train_dataloader = dict(batch_size=8)
