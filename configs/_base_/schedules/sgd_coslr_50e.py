# SGD with momentum and cosine learning-rate decay over 50 epochs.
optim_wrapper = dict(
    # mmengine's constructor without a log line per parameter: frozen
    # parameters left out, one summary line.
    constructor='SummarizedOptimWrapperConstructor',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4))

param_scheduler = dict(
    type='CosineAnnealingLR', by_epoch=True, T_max=50, eta_min=1e-5)

# mmengine's epoch-based loop, with the next epoch's first batches loaded
# while the current epoch ends (mmfer4d.engine.PrefetchEpochBasedTrainLoop;
# same batches and seeds). mmengine refuses `by_epoch` beside `type`: an
# iteration-based leaf config sets `train_cfg = dict(_delete_=True,
# by_epoch=False, max_iters=...)`.
train_cfg = dict(
    type='PrefetchEpochBasedTrainLoop', max_epochs=50, val_interval=1)
val_cfg = dict()
test_cfg = dict()

# ``tools/train.py --auto-scale-lr`` scales ``lr`` by the actual total batch
# size over this one (linear scaling rule).
auto_scale_lr = dict(base_batch_size=32)
