# MF² (Zheng et al., arXiv 2504.10351): the `make demo-mf2` pre-training
# run. Tiny model (configs/_base_/models/mf2_resnet18-w16.py) on
# SyntheticFER3D (its scans carry 21 AU labels and intensities), six
# expressions at intensities 3-4, fold 0 of 5: 80 training and 20 held-out
# test subjects (960 / 240 scans). 3 views (front, +-45 degrees yaw),
# normal maps at 96 px, mirror and warp augmentation (as the SMILE-VLM demo
# config). Evaluated by per-AU F1 / mean F1 and emotion accuracy.
_base_ = [
    '../_base_/models/mf2_resnet18-w16.py',
    '../_base_/datasets/synthetic_fer3d.py',
    '../_base_/schedules/adamw_cosine_20e.py',
    '../_base_/default_runtime.py',
]

classes = ('anger', 'disgust', 'fear', 'happiness', 'sadness', 'surprise')
au_names = ('AU1', 'AU2', 'AU4', 'AU5', 'AU6', 'AU7', 'AU9', 'AU10', 'AU12',
            'AU14', 'AU15', 'AU16', 'AU17', 'AU20', 'AU23', 'AU24', 'AU25',
            'AU26', 'AU27', 'AU43', 'AU45')
model = dict(classes=classes, au_names=au_names)

img_size = 96
modalities = ('normal', )
data_preprocessor = dict(modalities=modalities)
render = dict(
    type='RenderMultiView',
    views=('front', 'left', 'right'),
    size=img_size,
    modalities=modalities,
    extent_mm=70.0,
    center=(0.0, 0.0, -40.0))
synthesize = dict(type='SynthesizeFaceMesh', with_texture=False)
train_pipeline = [
    synthesize,
    dict(type='NormalizeFace'),
    dict(type='RandomMeshAugment'),
    dict(type='RandomMeshFlip'),
    dict(type='RandomMeshWarp'),
    render,
    dict(type='PackMultiViewInputs'),
]
test_pipeline = [
    synthesize,
    dict(type='NormalizeFace'), render,
    dict(type='PackMultiViewInputs')
]

num_folds = 5
fold = 0
max_epochs = 30
train_dataloader = dict(
    batch_size=32,
    num_workers=1,
    dataset=dict(
        classes=classes, num_folds=num_folds, fold=fold,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=1,
    dataset=dict(
        classes=classes, num_folds=num_folds, fold=fold,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = [
    dict(type='AUDetectionMetric'),
    dict(type='PerClassAccuracy'),
]
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
