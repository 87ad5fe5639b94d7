# SMILE-VLM (Behzad, arXiv 2506.01203): ResNet-50 shared by all views, CLIP
# ViT-B/32 text tower (locked). Variants in this folder swap the backbone;
# leaf configs set `classes`. The input channels follow the rendered
# modalities of the data-set config (its `data_preprocessor`).
model = dict(
    type='SMILEVLM',
    backbone=dict(
        type='ResNet',
        depth=50,
        out_indices=(3, ),
        # To start from ImageNet / own weights (with 4-channel renders the
        # 3-channel stem does not load; a warning names it):
        # init_cfg=dict(type='Pretrained', checkpoint='PATH_OR_URL',
        #               prefix='backbone.'),
    ),
    # Pools feature maps / tokens / vectors into (N, V, D_v).
    neck=dict(type='MultiViewNeck'),
    # in_channels is inferred from the backbone, so --cfg-options can swap
    # the backbone alone.
    projector=dict(
        type='MultiViewProjectionHead',
        out_channels=512,
        hid_channels=2048,
        num_layers=2),
    # View-count agnostic; LearnableViewWeightFusion needs num_views.
    view_fusion=dict(type='AttentionViewFusion'),
    # Only used for 4D inputs (N, T, V, C, H, W).
    temporal_fusion=dict(type='MeanTemporalFusion'),
    temporal_fusion_order='before',
    text_encoder=dict(
        type='OpenCLIPTextEncoder',
        model_name='ViT-B-32',
        # An open_clip tag (downloaded once), a local path, or None.
        pretrained='openai',
        frozen=True),
    classes=('anger', 'disgust', 'fear', 'happiness', 'sadness', 'surprise',
             'neutral'),
    prompt_family='default',
    intensity_aware_prompts=False,
    text_source='label',
    head=dict(
        type='SMILEVLMHead',
        # The Barlow-form losses sum over the D diagonal terms (about D at
        # init); a weight of about 6 / D puts them on the scale of loss_vl,
        # so that no term dominates the summed gradient (all three fall).
        loss_mv=dict(
            type='MultiViewBarlowTwinsLoss', lambd=5e-3, loss_weight=0.0125),
        loss_cmr=dict(
            type='CrossModalRedundancyLoss', lambd=5e-3, loss_weight=0.0125),
        loss_vl=dict(
            type='VisionLanguageContrastiveLoss',
            init_temperature=0.07,
            max_logit_scale=100.0,
            learnable=True,
            loss_weight=1.0),
        vl_fused_weight=1.0,
        vl_view_weight=1.0))
