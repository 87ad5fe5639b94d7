# SMILE-VLM (Behzad, arXiv 2506.01203). See README.md in this folder.
# Tiny 4D config: synthetic expression sequences, temporal transformer.
_base_ = [
    '../_base_/models/smile_vlm_resnet18-w16.py',
    '../_base_/datasets/synthetic_fer4d.py',
    '../_base_/schedules/adamw_cosine_20e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    classes=('anger', 'disgust', 'fear', 'happiness', 'sadness', 'surprise'),
    temporal_fusion=dict(
        type='TransformerTemporalFusion', num_layers=1, num_heads=4),
    temporal_fusion_order='before')

train_dataloader = dict(batch_size=8)
