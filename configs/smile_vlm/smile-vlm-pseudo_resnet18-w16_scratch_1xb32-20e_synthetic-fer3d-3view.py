# SMILE-VLM (Behzad, arXiv 2506.01203). See README.md in this folder.
# Self-supervised: the text of a sample is the prompt of its k-means
# pseudo-label, refreshed before every epoch by PseudoLabelHook.
_base_ = [
    './smile-vlm_resnet18-w16_scratch_1xb32-20e_synthetic-fer3d-3view.py'
]

model = dict(text_source='pseudo')

custom_hooks = [
    dict(
        type='PseudoLabelHook',
        interval=1,
        # Deterministic renders (no mesh augmentation) for clustering.
        pipeline={{_base_.test_pipeline}})
]
