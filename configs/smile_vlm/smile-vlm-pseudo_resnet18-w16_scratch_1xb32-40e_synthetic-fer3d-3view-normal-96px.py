# SMILE-VLM (Behzad, arXiv 2506.01203), self-supervised, on the data,
# renders (normal maps, 96 px) and augmentation (mirror, warp) of the
# `make demo` run: the `make demo-ssl` config. No expression label is used
# for training. The text of a sample is the prompt of its k-means
# pseudo-label (K = 6), from PseudoLabelHook before every epoch:
# - k-means clusters label-free expression descriptors of the scans' 3D
#   landmarks (Procrustes-aligned: head pose out; minus the subject's mean
#   shape: identity out; subject ids, no expression labels). The fused
#   embeddings, even per-subject centred, cluster little better than
#   chance before training (README);
# - with this random-init text tower a cluster keeps the prompt of the
#   previous epoch's labels (`match='auto'`); with a pretrained tower it
#   would be matched to the class prompts.
# Evaluated by the label-free scores of the fused embeddings of the
# held-out subjects and (tools/demo.py) by a linear probe; its zero-shot
# accuracy means nothing with a random text tower (the demo prints n/a).
_base_ = ['./smile-vlm_resnet18-w16_scratch_1xb32-40e_'
          'synthetic-fer3d-3view-normal-96px.py']

model = dict(text_source='pseudo')

custom_hooks = [
    dict(
        type='PseudoLabelHook',
        interval=1,
        num_workers=1,
        # Deterministic renders, for features='both' or a prompt match.
        pipeline=_base_.test_pipeline,
        features='landmarks',
        landmark_pipeline=[_base_.synthesize],
        # PCA-whitened to 12 components: small, consistent displacements
        # (brows) weigh as much as large ones (jaw). 6-16 components give
        # the same training-set clustering accuracy (README).
        landmark_components=12,
        subject_norm=True,
        match='auto'),
    # The parent's (ChannelsLastHook).
    *_base_.custom_hooks,
]

# Zero-shot accuracy (n/a here), then k-means clustering accuracy
# (Hungarian-matched to the ground truth, for evaluation only) and NMI,
# and the k-NN accuracy across subjects; raw, and after removing each
# held-out subject's mean embedding (`_sn`: subject ids, no labels).
test_evaluator = [
    dict(type='PerClassAccuracy'),
    dict(type='ClusteringMetric', mode='kmeans'),
    dict(type='ClusteringMetric', subject_norm=True, prefix='cluster_sn'),
    dict(type='KNNAccuracy'),
    dict(type='KNNAccuracy', subject_norm=True, prefix='knn_sn'),
]
