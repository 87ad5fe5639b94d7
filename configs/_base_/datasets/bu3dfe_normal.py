# BU-3DFE (./bu3dfe.py) rendered as surface normals only: 3-channel images,
# so that zoo backbones without `in_channels` (EfficientNet, MobileNetV3)
# swap in by `model.backbone` alone. The model's input channels and the
# normalisation follow `modalities` (./multiview_render.py).
_base_ = ['./bu3dfe.py']

modalities = ('normal', )
data_preprocessor = dict(modalities=modalities)
render = dict(_base_.render, modalities=modalities)
train_pipeline = [
    dict(type='LoadMeshFromFile'),
    *_base_.train_mesh_steps,
    render,
    _base_.pack,
]
test_pipeline = [
    dict(type='LoadMeshFromFile'),
    *_base_.test_mesh_steps,
    render,
    _base_.pack,
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
