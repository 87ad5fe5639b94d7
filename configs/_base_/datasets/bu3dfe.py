# BU-3DFE, 6 expressions x intensities 3-4, 10-fold subject-independent CV
# (the common protocol). subjects=None keeps all 100; the 60-subject variant
# is subjects=60 (a seeded draw of 34 women and 26 men, dict(num=60, seed=k)
# for another draw; the papers do not list their 60) or a list of ids.
# classes=7 adds neutral. Point data_root at the folder holding F0001/ ...
# M0044/.
_base_ = ['./multiview_render.py']
dataset_type = 'BU3DFEDataset'
data_root = 'data/BU-3DFE/'

train_pipeline = [
    dict(type='LoadMeshFromFile'),
    *_base_.train_mesh_steps,
    _base_.render,
    _base_.pack,
]
test_pipeline = [
    dict(type='LoadMeshFromFile'),
    *_base_.test_mesh_steps,
    _base_.render,
    _base_.pack,
]

train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    # Leaves out (and reports) samples of broken files when the data set
    # has skip_broken=True; otherwise the same as default_collate.
    collate_fn=dict(type='skip_broken_collate', collate='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        classes=6,
        intensities=(3, 4),
        mesh_kind='F3D',
        subjects=None,
        fold=0,
        num_folds=10,
        seed=0,
        split='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='skip_broken_collate', collate='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        classes=6,
        intensities=(3, 4),
        mesh_kind='F3D',
        subjects=None,
        fold=0,
        num_folds=10,
        seed=0,
        split='test',
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
