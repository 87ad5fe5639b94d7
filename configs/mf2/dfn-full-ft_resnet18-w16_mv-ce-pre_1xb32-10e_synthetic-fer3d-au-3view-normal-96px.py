# Full fine-tuning baseline of the DFN config beside it: the same backbone
# (from the same checkpoint), pooling, view fusion, AU head, data and
# schedule, every backbone parameter trained (BN in train mode), no side
# network.
_base_ = ['./dfn_resnet18-w16_mv-ce-pre_1xb32-10e_'
          'synthetic-fer3d-au-3view-normal-96px.py']

model = dict(type='FullFineTuner')
# Full fine-tuning at the demo runs' rate (lr 1e-3 gave 4 points less).
optim_wrapper = dict(optimizer=dict(lr=2e-3))
