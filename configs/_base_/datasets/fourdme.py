# 4DME micro-expressions, 5 classes, leave-one-subject-out. Frames are
# sampled from onset to offset by SampleFrames. See FourDMEDataset for the
# label CSV (ann_file) and frame_pattern.
_base_ = ['./multiview_render.py']
dataset_type = 'FourDMEDataset'
data_root = 'data/4DME/'

train_pipeline = [
    dict(type='SampleFrames', num_frames=8, mode='onset_offset'),
    dict(type='LoadMeshSequence'),
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
        ann_file='labels.csv',
        frame_pattern='{subject}/{clip}/*.obj',
        fold=0,
        num_folds='loso',
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
        ann_file='labels.csv',
        frame_pattern='{subject}/{clip}/*.obj',
        fold=0,
        num_folds='loso',
        seed=0,
        split='test',
        pipeline=test_pipeline))
test_dataloader = val_dataloader

# UF1 and UAR, as the micro-expression literature reports them (pooled
# over the LOSO folds by tools/kfold.py), and accuracy.
val_evaluator = dict(type='MERMetric')
test_evaluator = val_evaluator
