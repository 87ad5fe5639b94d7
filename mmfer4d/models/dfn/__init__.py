# Copyright (c) mmfer4d contributors. All rights reserved.
"""Decoupled Fine-tuning Network (DFN): a side network on a frozen
backbone (MF², arXiv 2504.10351; IISAN, arXiv 2404.02059)."""
from .adapter_block import AdapterBlock, GatedFusion
from .au_head import DFNAUHead
from .backbone_taps import BackboneTaps, select_layers, tap_layer_names
from .decoupled_fine_tuner import DecoupledFineTuner, FullFineTuner
from .side_network import SideNetwork

__all__ = [
    'AdapterBlock', 'GatedFusion', 'DFNAUHead', 'BackboneTaps',
    'select_layers', 'tap_layer_names', 'DecoupledFineTuner',
    'FullFineTuner', 'SideNetwork'
]
