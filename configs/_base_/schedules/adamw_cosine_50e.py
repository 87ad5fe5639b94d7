# AdamW with linear warm-up and cosine decay over 50 epochs. No weight decay
# on norms, biases, the temperature, view weights and position embeddings.
optim_wrapper = dict(
    type='OptimWrapper',
    # mmengine's constructor without a log line per parameter: frozen
    # parameters left out, one summary line.
    constructor='SummarizedOptimWrapperConstructor',
    optimizer=dict(
        type='AdamW', lr=3e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        custom_keys={
            'logit_scale': dict(decay_mult=0.0),
            'view_logits': dict(decay_mult=0.0),
            'pos_embed': dict(decay_mult=0.0),
        }))

param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-3,
        by_epoch=True,
        begin=0,
        end=2,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=48,
        eta_min=1e-6,
        by_epoch=True,
        begin=2,
        end=50),
]

# mmengine's epoch-based loop, with the next epoch's first batches loaded
# while the current epoch ends (mmfer4d.engine.PrefetchEpochBasedTrainLoop;
# same batches and seeds). mmengine refuses `by_epoch` beside `type`: an
# iteration-based leaf config sets `train_cfg = dict(_delete_=True,
# by_epoch=False, max_iters=...)`.
train_cfg = dict(
    type='PrefetchEpochBasedTrainLoop', max_epochs=50, val_interval=5)
val_cfg = dict()
test_cfg = dict()

# Linear scaling rule base for `--auto-scale-lr` (8 GPUs x 32).
auto_scale_lr = dict(base_batch_size=256)
