# SMILE-VLM (Behzad, arXiv 2506.01203). See README.md in this folder.
# EfficientNet-B0, a zoo backbone without `in_channels`, from scratch on
# surface-normal renders of 3 views (3 channels, bu3dfe_normal.py): the
# backbone swap is the only edit.
_base_ = [
    '../_base_/models/smile_vlm.py',
    '../_base_/datasets/bu3dfe_normal.py',
    '../_base_/schedules/adamw_cosine_50e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(_delete_=True, type='EfficientNet', arch='b0'),
    classes=('anger', 'disgust', 'fear', 'happiness', 'sadness', 'surprise'))
