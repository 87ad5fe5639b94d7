_base_ = './smile_vlm.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='SwinTransformer',
        arch='tiny',
        img_size=224,
        drop_path_rate=0.2,
        # 112 px renders give last-stage maps smaller than the window.
        pad_small_map=True))
