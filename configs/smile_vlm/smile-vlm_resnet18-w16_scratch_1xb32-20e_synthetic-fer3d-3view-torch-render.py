# SMILE-VLM, the tiny synthetic config with rendering moved from the data
# pipeline to the data preprocessor: the pipeline ends with the normalised,
# augmented mesh (PackMeshInputs) and RenderingDataPreprocessor renders
# all views of each batch in one call of the batched 'torch' backend on
# the model's device (CUDA when the model is there), then normalises as
# the parent does. Same views, size, modalities and statistics as the
# parent (the renders agree with numba's, tests/test_rendering/
# test_torch_backend.py); `render_backend = 'numba'` here renders with the
# numba kernels in the main process instead.
_base_ = [
    './smile-vlm_resnet18-w16_scratch_1xb32-20e_synthetic-fer3d-3view.py']

render_backend = 'torch'
pack_mesh = dict(type='PackMeshInputs')
train_pipeline = [
    dict(type='SynthesizeFaceMesh'), *_base_.train_mesh_steps, pack_mesh]
test_pipeline = [
    dict(type='SynthesizeFaceMesh'), *_base_.test_mesh_steps, pack_mesh]
data_preprocessor = dict(
    type='RenderingDataPreprocessor',
    render=dict(_base_.render, backend=render_backend))
# pseudo_collate keeps the meshes of a batch as a list.
collate_fn = dict(type='skip_broken_collate', collate='pseudo_collate')
train_dataloader = dict(
    collate_fn=collate_fn, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    collate_fn=collate_fn, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
