# 2D face images (video frames) with 68 landmarks and per-frame AU labels,
# one view each: FaceImageAUDataset + LoadFaceImageAU (landmark-centred
# crop). `layout` chooses the file layout ('bp4d' = BP4D-Spontaneous 2D
# frames, AUCoding/AU_OCC CSVs; 'disfa' = frames extracted from DISFA's
# videos, ActionUnit_Labels/*_au*.txt); iBUG .pts landmark files beside the
# images (from a 68-point landmark detector). Leaf configs set data_root,
# layout, folds and the AU names.
dataset_type = 'FaceImageAUDataset'
data_root = 'data/BP4D-2D/'
layout = 'bp4d'
img_size = 112
modalities = ('rgb', )

train_pipeline = [
    dict(type='LoadFaceImageAU', size=img_size, margin=0.15),
    dict(type='PackMultiViewInputs', meta_keys=('sample_idx', 'subject',
                                                'img_path', 'frame')),
]
test_pipeline = train_pipeline

data_preprocessor = dict(
    type='MultiViewDataPreprocessor',
    modalities=modalities,
    modality_mean_std=dict(rgb=(127.5, 127.5)))

train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        layout=layout,
        fold=0,
        num_folds=3,
        seed=0,
        split='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        layout=layout,
        fold=0,
        num_folds=3,
        seed=0,
        split='test',
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='AUDetectionMetric')
test_evaluator = val_evaluator
