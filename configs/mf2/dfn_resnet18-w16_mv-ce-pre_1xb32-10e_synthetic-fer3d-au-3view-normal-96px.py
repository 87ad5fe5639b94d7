# DFN (the Decoupled Fine-tuning Network of MF², arXiv 2504.10351, read as
# IISAN's side network, arXiv 2404.02059): AU detection on SyntheticFER3D
# (21 AUs, BCE) from a frozen expression-trained backbone. The data, views,
# augmentation and split of the multi-view CE demo run (3 views, normal
# maps, 96 px, fold 0 of 5, intensities 3-4); ResNet-18 with 16 base
# channels frozen and run without gradients, a side network of adapter
# blocks (down to 64, GELU, up, residual) on every other residual block
# (layer1.1, layer2.1, layer3.1, layer4.1), gated fusion sigmoid(p / 0.1)
# with p = 0, and a linear AU head on the 3 x 3 grid of the side output.
# The backbone's weights: `model.backbone.init_cfg` (set by
# mmfer4d.apis.dfn_transfer.run_transfer), e.g.
#   --cfg-options \
#   model.backbone.init_cfg.checkpoint=work_dirs/mv-ce/epoch_8.pth
# Its full fine-tuning twin: the `dfn-full-ft_*` config beside this one.
_base_ = ['../multiview_ce/mv-ce_resnet18-w16_scratch_1xb32-40e_'
          'synthetic-fer3d-3view-normal-96px.py']

max_epochs = 10
num_aus = 21
backbone_checkpoint = None
model = dict(
    _delete_=True,
    type='DecoupledFineTuner',
    backbone=dict(
        _base_.model.backbone,
        init_cfg=dict(
            type='Pretrained', checkpoint=backbone_checkpoint,
            prefix='backbone.')),
    side=dict(down_channels=64, gate_init=0.0, gate_temperature=0.1),
    layer_stride=2,
    neck=_base_.model.neck,
    view_fusion=_base_.model.view_fusion,
    head=dict(type='DFNAUHead', num_aus=num_aus))

val_evaluator = dict(_delete_=True, type='AUDetectionMetric')
test_evaluator = val_evaluator

# The side network starts near the identity (N(0, 1e-2) adapters) and has
# few parameters: it takes a larger step than full fine-tuning (lr 2e-3,
# the demo runs' rate). On this task, 10 epochs: lr 2e-3 / 5e-3 / 1e-2 gave
# mean AU F1 (AUs in >= 5% of the test scans) 67.9 / 69.3 / see README.
optim_wrapper = dict(optimizer=dict(lr=1e-2))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, eta_min=1e-5,
         by_epoch=True, begin=1, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
