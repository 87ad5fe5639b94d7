# MF² (Zheng et al., arXiv 2504.10351) on BP4D-Spontaneous 2D frames: the
# 12 AUs of the AU detection literature (1, 2, 4, 6, 7, 10, 12, 14, 15, 17,
# 23, 24), frame-level F1, 3-fold subject-independent cross-validation
# (`fold` 0 here; `python tools/kfold.py CONFIG` runs the three folds and
# reports their mean, as the literature does), plus the task emotion of
# every frame (T1-T8) as the emotion label. One view per sample (V = 1).
# Layout: data/BP4D-2D/{subject}/{task}/{frame}.jpg with a 68-point iBUG
# .pts beside each image, and AUCoding/AU_OCC/{subject}_{task}.csv.
# Not run here (no licensed data on this machine).
_base_ = [
    '../_base_/models/mf2_resnet50.py',
    '../_base_/datasets/face_image_au.py',
    '../_base_/schedules/adamw_cosine_20e.py',
    '../_base_/default_runtime.py',
]

au_names = ('AU1', 'AU2', 'AU4', 'AU6', 'AU7', 'AU10', 'AU12', 'AU14',
            'AU15', 'AU17', 'AU23', 'AU24')
classes = ('happiness', 'sadness', 'surprise', 'embarrassment', 'fear',
           'pain', 'anger', 'disgust')
model = dict(
    au_names=au_names, classes=classes,
    view_fusion=dict(_delete_=True, type='MeanViewFusion'))

data_root = 'data/BP4D-2D/'
train_dataloader = dict(dataset=dict(
    data_root=data_root, layout='bp4d', au_names=au_names, num_folds=3))
val_dataloader = dict(dataset=dict(
    data_root=data_root, layout='bp4d', au_names=au_names, num_folds=3))
test_dataloader = val_dataloader

val_evaluator = [
    dict(type='AUDetectionMetric'),
    dict(type='PerClassAccuracy'),
]
test_evaluator = val_evaluator
optim_wrapper = dict(optimizer=dict(lr=3e-4))
