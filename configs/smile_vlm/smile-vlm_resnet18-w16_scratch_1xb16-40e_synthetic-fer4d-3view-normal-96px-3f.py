# SMILE-VLM (Behzad, arXiv 2506.01203): the 4D demo run (`make demo-4d`).
# SyntheticFER4D sequences (neutral -> onset -> apex -> offset -> neutral,
# 100 frames, six expressions), split as in the 3D demo: fold 0 of 5 = the
# same 80 training and 20 test subjects (480 / 120 sequences). The 3D demo
# recipe (normal maps at 96 px of 3 views, a 70 mm half-width, mirror and
# warp augmentation, a 3 x 3 feature grid, 40 epochs at lr 2e-3) on three
# key frames per sequence:
# - SampleFrames(mode='key_frames'): onset, apex and offset (the apex
#   jittered by up to 2 frames inside its plateau at train time, the
#   references moved up to 2 frames into the neutral lead-in / lead-out);
# - DifferenceTemporalFusion: the apex embedding minus the mean of the two
#   neutral references of the same subject, which cancels most of what the
#   subject's face shape puts into the embedding.
# What was tried before (README, Results): 4 frames onset -> apex at 64 px,
# depth + normal, no mirror / warp, a one-layer transformer: 50.8%.
_base_ = ['./smile-vlm_resnet18-w16_scratch_1xb8-20e_synthetic-fer4d-3view.py']

img_size = 96
extent_mm = 70.0
center = (0.0, 0.0, -40.0)
modalities = ('normal', )
num_frames = 3
num_folds = 5
fold = 0
max_epochs = 40

model = dict(
    backbone=dict(stem_channels=16),
    neck=dict(type='MultiViewNeck', spatial_grid=3),
    temporal_fusion=dict(
        _delete_=True, type='DifferenceTemporalFusion',
        reference='onset_offset'),
    temporal_fusion_order='before')
data_preprocessor = dict(modalities=modalities)

render = dict(
    _base_.render, size=img_size, extent_mm=extent_mm, center=center,
    modalities=modalities)
synthesize = dict(type='SynthesizeFaceSequence', with_texture=False)
train_pipeline = [
    dict(type='SampleFrames', num_frames=num_frames, mode='key_frames',
         jitter=2),
    synthesize,
    *_base_.train_mesh_steps,
    dict(type='RandomMeshFlip'),
    dict(type='RandomMeshWarp'),
    render,
    _base_.pack,
]
test_pipeline = [
    dict(type='SampleFrames', num_frames=num_frames, mode='key_frames',
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
