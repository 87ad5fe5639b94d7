# SMILE-VLM (Behzad, arXiv 2506.01203). See README.md in this folder.
# swin-t from scratch on depth + normal renders of 3 views, CLIP text.
_base_ = [
    '../_base_/models/smile_vlm_swin-t.py',
    '../_base_/datasets/bu3dfe.py',
    '../_base_/schedules/adamw_cosine_50e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    classes=('anger', 'disgust', 'fear', 'happiness', 'sadness', 'surprise'))
