# Copyright (c) mmfer4d contributors. All rights reserved.
from .smile_vlm import SMILEVLM

__all__ = ['SMILEVLM']
