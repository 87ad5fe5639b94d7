_base_ = './smile_vlm.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='VisionTransformer',
        arch='b',
        img_size=224,
        patch_size=16,
        drop_path_rate=0.1,
        # (N*V, C) class token; MultiViewNeck also takes 'featmap' / 'raw'.
        out_type='cls_token'))
