# Copyright (c) mmfer4d contributors. All rights reserved.
from .mesh import Mesh

__all__ = ['Mesh']
