# Tiny MF² (Zheng et al., arXiv 2504.10351) for CPU runs, tests and the
# demo: ResNet-18 with 16 base channels (stages 2 and 3 out: AU regions are
# pooled from stage 2, stride 16; the global feature from stage 3), a
# 2-layer random-init frozen open_clip text tower with a trainable
# projection (no download), D = 128.
model = dict(
    type='MF2',
    backbone=dict(
        type='ResNet',
        depth=18,
        base_channels=16,
        stem_channels=16,
        out_indices=(2, 3)),
    neck=dict(type='MultiViewNeck', index=-1),
    projector=dict(
        type='MultiViewProjectionHead', out_channels=128, hid_channels=256),
    view_fusion=dict(type='LearnableViewWeightFusion', num_views=3),
    region_neck=dict(type='AURegionNeck', index=0, output_size=2),
    text_encoder=dict(
        type='OpenCLIPTextEncoder',
        model_name='ViT-B-32',
        pretrained=None,
        frozen=True,
        # Region descriptions run to about 40 tokens.
        text_cfg_overrides=dict(
            layers=2, width=128, heads=4, context_length=48)),
    # The stand-in for MFA's GPT-4o text; `external_descriptions` names a
    # JSON / JSONL file of one's own.
    descriptions=dict(seed=0, with_intensity=True),
    external_descriptions=None,
    head=dict(
        type='MF2Head',
        loss_local=dict(type='VisionLanguageContrastiveLoss',
                        loss_weight=0.5),
        loss_global=dict(type='VisionLanguageContrastiveLoss',
                         loss_weight=0.5),
        loss_au=dict(type='AUBinaryCrossEntropyLoss', loss_weight=1.0),
        loss_emotion=dict(type='CrossEntropyLoss', loss_weight=1.0),
        dropout=0.1),
)
