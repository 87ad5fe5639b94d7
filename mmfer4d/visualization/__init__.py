# Copyright (c) mmfer4d contributors. All rights reserved.
from .multiview_grid import (draw_multiview_grid, figure_to_array,
                             save_figure, split_modalities)
from .plots import (plot_bar_chart, plot_confusion_matrix,
                    plot_embedding_tsne, tsne_embedding)
from .view_weights import (find_view_weight_module, plot_view_weights,
                           view_weight_table, view_weights_of)

__all__ = [
    'plot_bar_chart', 'plot_confusion_matrix', 'plot_embedding_tsne',
    'tsne_embedding', 'find_view_weight_module', 'plot_view_weights',
    'view_weight_table', 'view_weights_of', 'draw_multiview_grid',
    'figure_to_array', 'save_figure', 'split_modalities'
]
