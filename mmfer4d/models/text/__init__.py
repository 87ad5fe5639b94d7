# Copyright (c) mmfer4d contributors. All rights reserved.
from .open_clip_text_encoder import OpenCLIPTextEncoder
from .prompt_bank import PromptBank, list_prompt_families, load_prompt_family

__all__ = [
    'OpenCLIPTextEncoder', 'PromptBank', 'list_prompt_families',
    'load_prompt_family'
]
