# Short AdamW + cosine schedule for the tiny CPU configs.
_base_ = './adamw_cosine_50e.py'

optim_wrapper = dict(optimizer=dict(lr=1e-3))

param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-2,
        by_epoch=True,
        begin=0,
        end=1,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=19,
        eta_min=1e-5,
        by_epoch=True,
        begin=1,
        end=20),
]

train_cfg = dict(
    type='PrefetchEpochBasedTrainLoop', max_epochs=20, val_interval=5)

auto_scale_lr = dict(base_batch_size=32)
