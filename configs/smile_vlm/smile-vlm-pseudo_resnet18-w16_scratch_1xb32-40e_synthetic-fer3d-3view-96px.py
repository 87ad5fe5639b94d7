# SMILE-VLM (Behzad, arXiv 2506.01203), self-supervised: the text of a
# sample is the prompt of its k-means pseudo-label (K = 6), refreshed before
# every epoch by PseudoLabelHook; no expression label is used for training.
# k-means runs on per-subject centred embeddings (subject ids only), and
# with this random-init text tower clusters keep the prompt of the previous
# epoch's labels (a pretrained tower: the Hungarian match to the prompts).
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
        # k-means on label-free expression descriptors of the scans' 3D
        # landmarks: Procrustes-aligned (head pose out), minus the
        # subject's mean shape (identity out; subject ids, no expression
        # labels). The fused embeddings, even per-subject centred, cluster
        # little better than chance before training (README).
        features='landmarks',
        landmark_pipeline=[_base_.synthesize],
        # PCA-whitened to 12 components: small, consistent displacements
        # (brows) weigh as much as large ones (jaw). 6-16 components give
        # the same training-set clustering accuracy (README).
        landmark_components=12,
        subject_norm=True,
        # Random-init text tower: clusters keep their prompt from epoch to
        # epoch instead of a meaningless prompt match.
        match='auto')
]

# Zero-shot accuracy (meaningless with this random-init text tower: the
# demo prints n/a), then the label-free scores of the fused embeddings of
# the held-out subjects: k-means clustering accuracy (Hungarian-matched to
# the ground truth, for evaluation only) and NMI, and the k-NN accuracy
# across subjects; raw, and after removing each held-out subject's mean
# embedding (`_sn`: subject ids of the test scans, no labels).
test_evaluator = [
    dict(type='PerClassAccuracy'),
    dict(type='ClusteringMetric', mode='kmeans'),
    dict(type='ClusteringMetric', subject_norm=True, prefix='cluster_sn'),
    dict(type='KNNAccuracy'),
    dict(type='KNNAccuracy', subject_norm=True, prefix='knn_sn'),
]
