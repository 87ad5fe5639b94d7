# Runtime defaults shared by every mmfer4d config.
# Types resolve in the ``mmfer4d`` scope first and fall back to mmpretrain's
# and mmengine's registries, so zoo types (``ResNet``, ``Accuracy``) work too.
default_scope = 'mmfer4d'

# Importing mmfer4d registers our modules and allow-lists the globals that
# mmengine checkpoints pickle (torch>=2.6 loads with ``weights_only=True``).
# This is what lets mmpretrain's and mmengine's own tools run our configs.
custom_imports = dict(imports=['mmfer4d'], allow_failed_imports=False)

default_hooks = dict(
    # Time of data loading and of every iteration.
    timer=dict(type='IterTimerHook'),
    # Print the log every 10 iterations (our data sets are small).
    logger=dict(type='LoggerHook', interval=10),
    # Step the learning-rate and momentum schedules.
    param_scheduler=dict(type='ParamSchedulerHook'),
    # Save every epoch and keep the last 3; leaf configs with a validation
    # metric may add ``save_best='auto'``.
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
    # Reseed the distributed sampler every epoch.
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # Off by default. View-aware: draws (V, C, H, W) and (T, V, C, H, W)
    # inputs, and plain (C, H, W) images of zoo configs; tools/test.py
    # --show-dir enables it.
    visualization=dict(type='MultiViewVisualizationHook', enable=False),
    # Collects the samples that data sets with skip_broken=True left out
    # (all workers and ranks), keeps all-skipped batches from the model and
    # ends the run with one summary line and work_dir/skipped_samples.json.
    skipped_samples=dict(type='SkippedSampleHook'),
    # Saves numpy's, Python's, torch's (CPU, CUDA) and the model's random
    # generators in every checkpoint and restores them on --resume;
    # reseeds data-loader workers per epoch and keeps validation from
    # drawing from training's generators, so that a killed and resumed
    # run ends with the uninterrupted run's weights.
    random_states=dict(type='RandomStateHook'),
)

env_cfg = dict(
    # Input sizes are fixed, but benchmarking costs time on tiny runs and
    # makes results non-deterministic.
    cudnn_benchmark=False,
    # Data-loader workers fork; OpenCV threads inside workers oversubscribe.
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # Only read by distributed launches (``--launcher pytorch``, GPUs); a
    # single CPU process (``--launcher none``) never initialises it.
    dist_cfg=dict(backend='nccl'),
)

# Where scalars and pictures go: backend configs or names. ``local`` writes
# the json log and vis_data/ (keep it); add TensorBoard (``pip install
# tensorboard``) or Weights & Biases (``wandb``) for one run with
#   --cfg-options visualizer.vis_backends=local,tensorboard
# (mmengine's --cfg-options cannot put dicts in a list; FERVisualizer takes
# names).
visualizer = dict(type='FERVisualizer', vis_backends=['local'])

log_level = 'INFO'

# Checkpoint to initialise the weights from (not a resume).
load_from = None
# Resume the whole training state from ``load_from`` (or the latest
# checkpoint in ``work_dir`` when ``load_from`` is None).
resume = False

# Fixed seed so that runs (and the tests) are reproducible.
randomness = dict(seed=0, deterministic=False)
