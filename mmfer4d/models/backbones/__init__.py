# Copyright (c) mmfer4d contributors. All rights reserved.
from .input_channel_adapter import InputChannelAdapter, backbone_in_channels

__all__ = ['InputChannelAdapter', 'backbone_in_channels']
