# Copyright (c) mmfer4d contributors. All rights reserved.
from .au_bce_loss import AUBinaryCrossEntropyLoss
from .cross_modal_redundancy_loss import CrossModalRedundancyLoss
from .multiview_barlow_twins_loss import (MultiViewBarlowTwinsLoss,
                                          batch_standardize,
                                          multiview_barlow_twins)
from .vision_language_contrastive_loss import (VisionLanguageContrastiveLoss,
                                               contrastive_targets)

__all__ = [
    'AUBinaryCrossEntropyLoss',
    'MultiViewBarlowTwinsLoss', 'VisionLanguageContrastiveLoss',
    'CrossModalRedundancyLoss', 'batch_standardize', 'multiview_barlow_twins',
    'contrastive_targets'
]
