# MF² (Zheng et al., arXiv 2504.10351), real size: ResNet-50 (AU regions
# pooled from stage 3, stride 16; the global feature from stage 4), D = 512,
# the CLIP ViT-B/32 text tower from open_clip's `openai` tag (downloaded
# once), frozen, with a trainable projection.
model = dict(
    type='MF2',
    backbone=dict(type='ResNet', depth=50, out_indices=(2, 3)),
    neck=dict(type='MultiViewNeck', index=-1),
    projector=dict(
        type='MultiViewProjectionHead', out_channels=512, hid_channels=2048),
    view_fusion=dict(type='AttentionViewFusion'),
    region_neck=dict(type='AURegionNeck', index=0, output_size=2),
    text_encoder=dict(
        type='OpenCLIPTextEncoder',
        model_name='ViT-B-32',
        pretrained='openai',
        frozen=True),
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
