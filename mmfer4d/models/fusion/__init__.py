# Copyright (c) mmfer4d contributors. All rights reserved.
from .temporal_fusion import (AttentionTemporalFusion,
                              DifferenceTemporalFusion, MeanTemporalFusion,
                              TransformerTemporalFusion)
from .view_fusion import (AttentionViewFusion, BaseViewFusion,
                          LearnableViewWeightFusion, MeanViewFusion)

__all__ = [
    'BaseViewFusion', 'MeanViewFusion', 'LearnableViewWeightFusion',
    'AttentionViewFusion', 'MeanTemporalFusion', 'AttentionTemporalFusion',
    'TransformerTemporalFusion', 'DifferenceTemporalFusion'
]
