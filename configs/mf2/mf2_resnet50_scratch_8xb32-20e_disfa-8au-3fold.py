# MF² (Zheng et al., arXiv 2504.10351) on DISFA: the 8 AUs of the AU
# detection literature (1, 2, 4, 6, 9, 12, 25, 26), an AU present at
# intensity >= 2, frame-level F1, 3-fold subject-independent CV (`fold` 0;
# tools/kfold.py runs all three). DISFA has no emotion labels: AU-level
# alignment and AU detection only (`classes` empty: no emotion head, no
# emotion text). Layout: frames extracted from the left-camera videos as
# data/DISFA/{subject}/{frame}.jpg with a 68-point iBUG .pts beside each,
# ActionUnit_Labels/{subject}/{subject}_au{n}.txt as shipped.
# Not run here (no licensed data on this machine).
_base_ = [
    '../_base_/models/mf2_resnet50.py',
    '../_base_/datasets/face_image_au.py',
    '../_base_/schedules/adamw_cosine_20e.py',
    '../_base_/default_runtime.py',
]

au_names = ('AU1', 'AU2', 'AU4', 'AU6', 'AU9', 'AU12', 'AU25', 'AU26')
model = dict(
    au_names=au_names, classes=None,
    view_fusion=dict(_delete_=True, type='MeanViewFusion'))

data_root = 'data/DISFA/'
train_dataloader = dict(dataset=dict(
    data_root=data_root, layout='disfa', au_names=au_names, num_folds=3,
    occurrence_threshold=2))
val_dataloader = dict(dataset=dict(
    data_root=data_root, layout='disfa', au_names=au_names, num_folds=3,
    occurrence_threshold=2))
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=3e-4))
