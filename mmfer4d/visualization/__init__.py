# Copyright (c) mmfer4d contributors. All rights reserved.
from .class_names import (classes_from_config, names_in_samples,
                          resolve_class_names)
from .multiview_grid import (draw_multiview_grid, figure_to_array,
                             sample_grid, save_figure, split_modalities,
                             view_labels)
from .plots import (plot_bar_chart, plot_confusion_matrix,
                    plot_embedding_tsne, tsne_embedding)
from .view_weights import (find_view_weight_module, plot_view_weights,
                           view_weight_table, view_weights_from_checkpoint,
                           view_weights_of)
from .visualizer import FERVisualizer, backend_configs

__all__ = [
    'classes_from_config', 'names_in_samples', 'resolve_class_names',
    'plot_bar_chart', 'plot_confusion_matrix', 'plot_embedding_tsne',
    'tsne_embedding', 'find_view_weight_module', 'plot_view_weights',
    'view_weight_table', 'view_weights_from_checkpoint',
    'view_weights_of', 'draw_multiview_grid',
    'figure_to_array', 'sample_grid', 'save_figure', 'split_modalities',
    'view_labels',
    'FERVisualizer', 'backend_configs'
]
