# MF² (Zheng et al., arXiv 2504.10351): the `make demo-mf2` pre-training
# run. The 30-epoch config it inherits (tiny model, SyntheticFER3D at
# intensities 3-4, fold 0 of 5, 3 views of 96 px normal maps), trained
# twice as long and with the AU loss weighted towards the rare AUs: the
# positive term of AU a times sqrt((1 - p_a) / p_a), clipped to 1-5, p_a the
# AU's rate in the training scans of fold 0 (AU14, AU24, AU27, AU43 are in
# 2-8% of them). Results: configs/mf2/README.md.
_base_ = ['./mf2_resnet18-w16_scratch_1xb32-30e_'
          'synthetic-fer3d-3view-normal-96px.py']

au_pos_weight = [
    1.0, 1.41, 1.08, 1.09, 1.75, 1.83, 2.98, 2.44, 2.24, 3.91, 1.86, 3.05,
    1.82, 2.62, 3.05, 3.65, 1.52, 1.51, 3.36, 5.0, 5.0
]
model = dict(head=dict(loss_au=dict(pos_weight=au_pos_weight)))

max_epochs = 60
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, eta_min=1e-5,
         by_epoch=True, begin=1, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(checkpoint=dict(interval=max_epochs))
