# The `make demo` SMILE-VLM run trained and tested on all four intensity
# levels (1 low .. 4 highest) of the six expressions; the test reports the
# accuracy per level (fer/acc_intensity_k). Twice the scans per epoch of the
# 3-4 protocol (1,920 training, 480 test).
_base_ = ['./smile-vlm_resnet18-w16_scratch_1xb32-40e_synthetic-fer3d-3view-96px.py']

train_dataloader = dict(dataset=dict(intensities=(1, 2, 3, 4)))
val_dataloader = dict(dataset=dict(intensities=(1, 2, 3, 4)))
test_dataloader = val_dataloader
