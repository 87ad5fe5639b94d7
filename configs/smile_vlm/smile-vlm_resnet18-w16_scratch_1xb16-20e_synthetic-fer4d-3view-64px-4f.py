# SMILE-VLM (Behzad, arXiv 2506.01203): the 4D demo run (`make demo-4d`).
# The tiny 4D config (ResNet-18 w16, one-layer transformer temporal fusion
# before the view fusion) on SyntheticFER4D sequences (neutral -> onset ->
# apex -> offset -> neutral, 100 frames, six expressions), sized for a
# 2-core CPU: SampleFrames picks 4 frames from onset to apex, 64 px depth +
# normal renders of 3 views, batches of 16. Split as in the 3D demo: fold 0
# of 5 = 80 training and 20 test subjects (480 / 120 sequences).
_base_ = ['./smile-vlm_resnet18-w16_scratch_1xb8-20e_synthetic-fer4d-3view.py']

img_size = 64
# Framing as in the 3D demo: a 70 mm half-width, cameras orbiting a point
# 40 mm behind the nose tip.
extent_mm = 70.0
center = (0.0, 0.0, -40.0)
num_frames = 4
num_folds = 5
fold = 0
max_epochs = 20

# The last feature map is 2 x 2 at 64 px: keep the grid (see the 3D demo).
model = dict(
    backbone=dict(stem_channels=16),
    neck=dict(type='MultiViewNeck', spatial_grid=2))

render = dict(
    _base_.render, size=img_size, extent_mm=extent_mm, center=center)
synthesize = dict(type='SynthesizeFaceSequence', with_texture=False)
train_pipeline = [
    dict(type='SampleFrames', num_frames=num_frames, mode='onset_apex'),
    synthesize,
    *_base_.train_mesh_steps,
    render,
    _base_.pack,
]
test_pipeline = [
    dict(type='SampleFrames', num_frames=num_frames, mode='onset_apex',
         test_mode=True),
    synthesize,
    *_base_.test_mesh_steps,
    render,
    _base_.pack,
]

train_dataloader = dict(
    batch_size=16,
    num_workers=1,
    dataset=dict(num_folds=num_folds, fold=fold, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=1,
    dataset=dict(num_folds=num_folds, fold=fold, pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(_delete_=True, type='PerClassAccuracy')
test_evaluator = val_evaluator

optim_wrapper = dict(optimizer=dict(lr=2e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, eta_min=1e-5,
         by_epoch=True, begin=1, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
