# Tiny SMILE-VLM for CPU runs, tests and the demo: ResNet-18 with 16 base
# channels, a 2-layer random-init text tower (no download), D = 128.
_base_ = './smile_vlm.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNet',
        depth=18,
        base_channels=16,
        out_indices=(3, )),
    projector=dict(out_channels=128, hid_channels=256),
    view_fusion=dict(
        _delete_=True, type='LearnableViewWeightFusion', num_views=3),
    text_encoder=dict(
        pretrained=None,
        text_cfg_overrides=dict(
            layers=2, width=128, heads=4, context_length=32)),
    # ~6 / D for D = 128 (see smile_vlm.py).
    head=dict(
        loss_mv=dict(loss_weight=0.05), loss_cmr=dict(loss_weight=0.05)))
