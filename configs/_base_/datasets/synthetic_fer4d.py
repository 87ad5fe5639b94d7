# SyntheticFER4D: BU-4DFE-like sequences (neutral-onset-apex-offset) made
# on the fly from the ICT-FaceKit model and FACS, 100 subjects x 6
# expressions, 100 frames each (8 sampled uniformly), 10-fold
# subject-independent CV.
_base_ = ['./multiview_render.py']
dataset_type = 'SyntheticFER4D'

train_pipeline = [
    dict(type='SampleFrames', num_frames=8, mode='uniform'),
    dict(type='SynthesizeFaceSequence'),
    *_base_.train_mesh_steps,
    _base_.render,
    _base_.pack,
]
test_pipeline = [
    dict(type='SampleFrames', num_frames=8, mode='uniform', test_mode=True),
    dict(type='SynthesizeFaceSequence'),
    *_base_.test_mesh_steps,
    _base_.render,
    _base_.pack,
]

train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    # Leaves out (and reports) samples of broken files when the data set
    # has skip_broken=True; otherwise the same as default_collate.
    collate_fn=dict(type='skip_broken_collate', collate='default_collate'),
    dataset=dict(
        type=dataset_type,
        num_subjects=100,
        num_frames=100,
        fold=0,
        num_folds=10,
        seed=0,
        split='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='skip_broken_collate', collate='default_collate'),
    dataset=dict(
        type=dataset_type,
        num_subjects=100,
        num_frames=100,
        fold=0,
        num_folds=10,
        seed=0,
        split='test',
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
