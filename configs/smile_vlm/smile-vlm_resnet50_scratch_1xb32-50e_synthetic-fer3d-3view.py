# SMILE-VLM (Behzad, arXiv 2506.01203): the real-size run of
# `make demo-full` (tools/demo.py --full; a GPU machine). ResNet-50 shared
# by the views, D = 512, attention view fusion, the CLIP ViT-B/32 text
# tower with OpenAI weights (open_clip downloads them once; locked), 112 px
# depth + normal renders of 3 views, 50 epochs, SyntheticFER3D with the
# BU-3DFE-style protocol (six expressions, intensities 3-4, 100 subjects)
# and 10-fold subject-independent cross-validation (tools/demo.py sets the
# fold).
_base_ = [
    '../_base_/models/smile_vlm.py',
    '../_base_/datasets/synthetic_fer3d.py',
    '../_base_/schedules/adamw_cosine_50e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    classes=('anger', 'disgust', 'fear', 'happiness', 'sadness', 'surprise'))

train_dataloader = dict(batch_size=32, num_workers=8)
val_dataloader = dict(num_workers=8)
test_dataloader = val_dataloader

val_evaluator = dict(_delete_=True, type='PerClassAccuracy')
test_evaluator = val_evaluator

default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=1))
