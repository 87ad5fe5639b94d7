# BU-4DFE, 6 expressions, one sample per sequence (8 frames sampled
# uniformly), 10-fold subject-independent CV. Point data_root at the folder
# holding F001/ ... M043/; set bnd_root for the landmark tree.
# Validation and test take the middle frame of each segment (the same
# frames every time); training a random frame per segment.
_base_ = ['./multiview_render.py']
dataset_type = 'BU4DFEDataset'
data_root = 'data/BU-4DFE/'

train_pipeline = [
    dict(type='SampleFrames', num_frames=8, mode='uniform'),
    dict(type='LoadMeshSequence'),
    *_base_.train_mesh_steps,
    _base_.render,
    _base_.pack,
]
test_pipeline = [
    dict(type='SampleFrames', num_frames=8, mode='uniform', test_mode=True),
    dict(type='LoadMeshSequence'),
    *_base_.test_mesh_steps,
    _base_.render,
    _base_.pack,
]

train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    # Leaves out (and reports) samples of broken files when the data set
    # has skip_broken=True; otherwise the same as default_collate.
    collate_fn=dict(type='skip_broken_collate', collate='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        bnd_root=None,
        fold=0,
        num_folds=10,
        seed=0,
        split='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='skip_broken_collate', collate='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        bnd_root=None,
        fold=0,
        num_folds=10,
        seed=0,
        split='test',
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
