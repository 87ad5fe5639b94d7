# SMILE-VLM (Behzad, arXiv 2506.01203). See README.md in this folder.
# 4DME micro-expressions (5 classes, leave-one-subject-out, the base
# config's num_folds='loso'), with the recipe of the SyntheticMER4D demo
# run (`make demo-mer`) at real size (ResNet-50, D = 512, 112 px): normal
# maps of 3 views, mirror and warp augmentation, and three key frames per
# clip, (N, T=3, V=3, C=3, H, W): SampleFrames(mode='key_frames') takes
# the annotated onset, apex and offset frames (the apex jittered by up to
# 1 frame at train time) and DifferenceTemporalFusion subtracts the mean
# of the onset and offset embeddings (the subject's neutral face) from the
# apex's, per view, before the view fusion. The demo's motion
# magnification (MagnifyMeshMotion) needs frames in vertex correspondence;
# raw 4D scans are not, so it is left out here: add it after
# LoadMeshSequence for registered 4DME meshes.
#     python tools/kfold.py configs/smile_vlm/THIS_FILE.py --loso
_base_ = [
    '../_base_/models/smile_vlm.py',
    '../_base_/datasets/fourdme.py',
    '../_base_/schedules/adamw_cosine_50e.py',
    '../_base_/default_runtime.py',
]

modalities = ('normal', )
num_frames = 3

model = dict(
    classes=('positive', 'negative', 'surprise', 'repression', 'others'),
    temporal_fusion=dict(
        type='DifferenceTemporalFusion', reference='onset_offset'),
    temporal_fusion_order='before')
data_preprocessor = dict(modalities=modalities)

render = dict(_base_.render, modalities=modalities)
load = dict(type='LoadMeshSequence')
train_pipeline = [
    dict(type='SampleFrames', num_frames=num_frames, mode='key_frames',
         jitter=1),
    load,
    *_base_.train_mesh_steps,
    dict(type='RandomMeshFlip'),
    dict(type='RandomMeshWarp'),
    render,
    _base_.pack,
]
test_pipeline = [
    dict(type='SampleFrames', num_frames=num_frames, mode='key_frames',
         test_mode=True),
    load,
    *_base_.test_mesh_steps,
    render,
    _base_.pack,
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
