# SMILE-VLM (Behzad, arXiv 2506.01203). See README.md in this folder.
_base_ = [
    '../_base_/models/smile_vlm.py',
    '../_base_/datasets/bosphorus.py',
    '../_base_/schedules/adamw_cosine_50e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    classes=('anger', 'disgust', 'fear', 'happiness', 'sadness', 'surprise'))
