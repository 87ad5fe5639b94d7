# Copyright (c) mmfer4d contributors. All rights reserved.
from .errors import MeshReadError

__all__ = ['MeshReadError']
