_base_ = './smile_vlm.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='ConvNeXt',
        arch='tiny',
        drop_path_rate=0.1,
        gap_before_final_norm=True))
