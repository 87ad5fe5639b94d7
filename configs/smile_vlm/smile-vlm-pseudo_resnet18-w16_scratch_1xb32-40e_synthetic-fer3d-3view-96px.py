# SMILE-VLM (Behzad, arXiv 2506.01203), self-supervised: the text of a
# sample is the prompt of its k-means pseudo-label (K = 6, clusters matched
# to the class prompts by the Hungarian algorithm), refreshed before every
# epoch by PseudoLabelHook; no ground-truth label is used for training.
# Evaluated zero-shot, by clustering accuracy / NMI of the fused embeddings
# and (tools/demo.py) by a linear probe. Same data, split and schedule as
# the `make demo` run, with the depth + normal renders of its parent config.
_base_ = ['./smile-vlm_resnet18-w16_scratch_1xb32-40e_'
          'synthetic-fer3d-3view-96px.py']

model = dict(text_source='pseudo')

custom_hooks = [
    dict(
        type='PseudoLabelHook',
        interval=1,
        num_workers=1,
        # Deterministic renders (no mesh augmentation) for clustering.
        pipeline=_base_.test_pipeline,
        # k-means on per-subject centred embeddings: subject ids, no
        # expression labels (identity out, expression in).
        subject_norm=True,
        # Random-init text tower: clusters keep their prompt from epoch to
        # epoch instead of a meaningless prompt match.
        match='auto')
]

test_evaluator = [
    dict(type='PerClassAccuracy'),
    dict(type='ClusteringMetric', mode='kmeans'),
]
