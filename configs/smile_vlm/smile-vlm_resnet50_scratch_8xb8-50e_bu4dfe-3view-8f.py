# SMILE-VLM (Behzad, arXiv 2506.01203). See README.md in this folder.
# 4D: (N, T=8, V=3, C=4, H, W) sequences, temporal transformer.
_base_ = [
    '../_base_/models/smile_vlm.py',
    '../_base_/datasets/bu4dfe.py',
    '../_base_/schedules/adamw_cosine_50e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    classes=('anger', 'disgust', 'fear', 'happiness', 'sadness', 'surprise'),
    # Per view over the 8 frames, then over the views.
    temporal_fusion=dict(
        type='TransformerTemporalFusion', num_layers=1, num_heads=8),
    temporal_fusion_order='before')
