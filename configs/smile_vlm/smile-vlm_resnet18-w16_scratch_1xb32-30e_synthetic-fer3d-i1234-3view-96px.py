# The depth + normal SMILE-VLM demo config (the parent of the `make demo`
# run) trained and tested on all four intensity levels (1 low .. 4 highest)
# of the six expressions; the test reports the
# accuracy per level (fer/acc_intensity_k). Twice the scans per epoch of the
# 3-4 protocol (1,920 training, 480 test), for 30 epochs.
_base_ = ['./smile-vlm_resnet18-w16_scratch_1xb32-40e_'
          'synthetic-fer3d-3view-96px.py']

train_dataloader = dict(dataset=dict(intensities=(1, 2, 3, 4)))
val_dataloader = dict(dataset=dict(intensities=(1, 2, 3, 4)))
test_dataloader = val_dataloader

# 30 epochs over twice the scans: 1.5 times the steps of the main run.
max_epochs = 30
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, eta_min=1e-5,
         by_epoch=True, begin=1, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
