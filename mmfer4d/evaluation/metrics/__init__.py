# Copyright (c) mmfer4d contributors. All rights reserved.
from .au_detection_metric import AUDetectionMetric
from .clustering_metric import ClusteringMetric, cluster_accuracy
from .knn_accuracy import KNNAccuracy, knn_predict
from .mer_metric import MERMetric, uf1_uar
from .per_class_accuracy import PerClassAccuracy
from .subject_normalization import normalize_per_subject

__all__ = [
    'PerClassAccuracy', 'MERMetric', 'uf1_uar', 'AUDetectionMetric',
    'ClusteringMetric', 'cluster_accuracy', 'normalize_per_subject',
    'KNNAccuracy', 'knn_predict'
]
