# Copyright (c) mmfer4d contributors. All rights reserved.
"""The SMILE-VLM demo runs on SyntheticFER3D / SyntheticFER4D.

Targets (``tools/demo.py --what``, ``make demo-*``): ``main`` (zero-shot +
linear probe, BU-3DFE-style intensities 3-4), ``intensities`` (all four
levels, accuracy per level), ``ssl`` (``pseudo`` text source from landmark
clusters: clustering accuracy, NMI, k-NN and linear probe; zero-shot n/a
with a random-init text tower), ``baseline`` (the same backbone and views
trained with cross-entropy only), ``4d`` (sequences, SampleFrames +
temporal fusion).
"""
from .registry import RunSpec, config_path, register_target

_WEAK = 'weak (label prompts)'
_NONE = 'none (pseudo-labels)'

register_target('main', [
    RunSpec('smile-vlm',
            config_path('smile-vlm_resnet18-w16_scratch_1xb32-40e_'
                        'synthetic-fer3d-3view-normal-96px'),
            full=config_path('smile-vlm_resnet50_scratch_1xb32-50e_'
                             'synthetic-fer3d-3view'),
            method='SMILE-VLM', supervision=_WEAK, evaluation='zero-shot',
            preview=True, pictures=True, ranked=True),
    RunSpec('smile-vlm-linear',
            config_path('smile-vlm-linear_resnet18-w16_smile-vlm-pre_'
                        '1xb32-10e_synthetic-fer3d-3view-normal-96px'),
            full=config_path('smile-vlm-linear_resnet50_smile-vlm-pre_'
                             '1xb32-20e_synthetic-fer3d-3view'),
            probe_of='smile-vlm', method='SMILE-VLM', supervision=_WEAK,
            evaluation='linear probe', ranked=True),
])
register_target('intensities', [
    RunSpec('smile-vlm-i1234',
            config_path('smile-vlm_resnet18-w16_scratch_1xb32-30e_'
                        'synthetic-fer3d-i1234-3view-96px'),
            method='SMILE-VLM', supervision=_WEAK, evaluation='zero-shot',
            preview=True),
])
register_target('ssl', [
    RunSpec('smile-vlm-pseudo',
            config_path('smile-vlm-pseudo_resnet18-w16_scratch_1xb32-40e_'
                        'synthetic-fer3d-3view-normal-96px'),
            method='SMILE-VLM', supervision=_NONE, evaluation='zero-shot',
            ranked=True),
    RunSpec('smile-vlm-pseudo-linear',
            config_path('smile-vlm-linear_resnet18-w16_smile-vlm-pre_'
                        '1xb32-10e_synthetic-fer3d-3view-normal-96px'),
            probe_of='smile-vlm-pseudo', method='SMILE-VLM',
            supervision=_NONE, evaluation='linear probe', ranked=True),
])
register_target('baseline', [
    RunSpec('mv-ce',
            config_path('mv-ce_resnet18-w16_scratch_1xb32-40e_'
                        'synthetic-fer3d-3view-normal-96px', 'multiview_ce'),
            method='Multi-view CE baseline', supervision='full (labels)',
            evaluation='classifier', ranked=True),
])
register_target('4d', [
    RunSpec('smile-vlm-4d',
            config_path('smile-vlm_resnet18-w16_scratch_1xb16-40e_'
                        'synthetic-fer4d-3view-normal-96px-3f'),
            method='SMILE-VLM 4D', supervision=_WEAK,
            evaluation='zero-shot'),
])
