# Copyright (c) mmfer4d contributors. All rights reserved.
from .descriptions import (FACS_AU_NAMES, ExternalDescriptions,
                           MultilevelDescriptionGenerator, describe_au,
                           intensity_word)
from .open_clip_text_encoder import OpenCLIPTextEncoder
from .prompt_bank import PromptBank, list_prompt_families, load_prompt_family

__all__ = [
    'FACS_AU_NAMES', 'ExternalDescriptions', 'MultilevelDescriptionGenerator',
    'describe_au', 'intensity_word',
    'OpenCLIPTextEncoder', 'PromptBank', 'list_prompt_families',
    'load_prompt_family'
]
