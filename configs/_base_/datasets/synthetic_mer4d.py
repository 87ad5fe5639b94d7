# SyntheticMER4D: 4DME-like micro-expressions (5 classes, weak and short),
# 40 subjects x 5 classes x 2, 40 frames at 60 fps; 8 frames sampled
# between onset and offset. 4DME papers use LOSO (num_folds='loso'); the
# 10-fold split below matches the other base configs.
_base_ = ['./multiview_render.py']
dataset_type = 'SyntheticMER4D'

train_pipeline = [
    dict(type='SampleFrames', num_frames=8, mode='onset_offset'),
    dict(type='SynthesizeFaceSequence'),
    *_base_.train_mesh_steps,
    _base_.render,
    _base_.pack,
]
test_pipeline = [
    dict(
        type='SampleFrames',
        num_frames=8,
        mode='onset_offset',
        test_mode=True),
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
        num_subjects=40,
        samples_per_class=2,
        num_frames=40,
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
        num_subjects=40,
        samples_per_class=2,
        num_frames=40,
        fold=0,
        num_folds=10,
        seed=0,
        split='test',
        pipeline=test_pipeline))
test_dataloader = val_dataloader

# UF1 and UAR, as the micro-expression literature reports them (pooled
# over the LOSO folds by tools/kfold.py), and accuracy.
val_evaluator = dict(type='MERMetric')
test_evaluator = val_evaluator
