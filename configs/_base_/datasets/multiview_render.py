# The steps from a face mesh to the model's input that every data set
# shares, written once: normalise the face, augment the mesh (training
# only), render `views` at `img_size` px as `modalities`, pack. A data-set
# base config puts its own loading steps in front, e.g.
#     train_pipeline = [dict(type='LoadMeshFromFile'),
#                       *_base_.train_mesh_steps, _base_.render, _base_.pack]
# `data_preprocessor` (merged into the model by mmengine's Runner)
# normalises every rendered channel and tells the model its input channels:
# the backbone's `in_channels` and the statistics follow `modalities`. A
# variant with other renders redefines `render` and the two pipelines (see
# configs/_base_/datasets/bu3dfe_normal.py).
views = ('front', 'left', 'right')
img_size = 112
modalities = ('depth', 'normal')

render = dict(
    type='RenderMultiView', views=views, size=img_size, modalities=modalities)
train_mesh_steps = [dict(type='NormalizeFace'), dict(type='RandomMeshAugment')]
test_mesh_steps = [dict(type='NormalizeFace')]
pack = dict(type='PackMultiViewInputs')

data_preprocessor = dict(
    type='MultiViewDataPreprocessor',
    modalities=modalities,
    # 0..255 renders to about -1..1, whichever modalities are rendered.
    modality_mean_std=dict(
        depth=(127.5, 127.5),
        normal=(127.5, 127.5),
        rgb=(127.5, 127.5),
        shading=(127.5, 127.5),
        mask=(127.5, 127.5)))
