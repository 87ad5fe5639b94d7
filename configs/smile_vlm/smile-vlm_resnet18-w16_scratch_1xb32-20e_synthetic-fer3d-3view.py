# SMILE-VLM (Behzad, arXiv 2506.01203). See README.md in this folder.
# Tiny CPU config used by the tests and the demo: ResNet-18 (16 base
# channels), 112 px depth + normal renders of 3 views (front / left /
# right), a 2-layer random-init text tower (no download), D = 128.
_base_ = [
    '../_base_/models/smile_vlm_resnet18-w16.py',
    '../_base_/datasets/synthetic_fer3d.py',
    '../_base_/schedules/adamw_cosine_20e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    classes=('anger', 'disgust', 'fear', 'happiness', 'sadness', 'surprise'))

train_dataloader = dict(batch_size=32)
