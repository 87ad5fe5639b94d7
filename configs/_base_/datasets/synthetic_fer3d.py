# SyntheticFER3D: BU-3DFE-like scans synthesised on the fly from the
# ICT-FaceKit model and FACS (100 subjects x (6 x 4 + neutral) = 2,500
# scans; the two highest intensities of the six expressions kept, as in the
# common BU-3DFE protocol), 10-fold subject-independent CV. Needs no data:
# the face model ships with the package (MMFER4D_ICT_FACE_MODEL or
# face_model= name another npz).
_base_ = ['./multiview_render.py']
dataset_type = 'SyntheticFER3D'

train_pipeline = [
    dict(type='SynthesizeFaceMesh'),
    *_base_.train_mesh_steps,
    _base_.render,
    _base_.pack,
]
test_pipeline = [
    dict(type='SynthesizeFaceMesh'),
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
        classes=('anger', 'disgust', 'fear', 'happiness', 'sadness',
                 'surprise'),
        intensities=(3, 4),
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
        classes=('anger', 'disgust', 'fear', 'happiness', 'sadness',
                 'surprise'),
        intensities=(3, 4),
        fold=0,
        num_folds=10,
        seed=0,
        split='test',
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
