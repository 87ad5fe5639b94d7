# Copyright (c) mmfer4d contributors. All rights reserved.
from .bnt import grid_faces, read_bnt, write_bnt
from .errors import MeshReadError
from .landmarks import (read_bnd, read_lm2, read_lm3, write_bnd, write_lm2,
                        write_lm3)
from .limits import (ReadLimits, get_read_limits, read_limits,
                     set_read_limits)
from .loader import MESH_EXTENSIONS, load_landmarks, load_mesh
from .obj import read_obj
from .off import read_off
from .ply import read_ply
from .trimesh_io import TRIMESH_EXTENSIONS, read_trimesh, write_trimesh
from .vrml import read_vrml, write_vrml

__all__ = [
    'MeshReadError', 'ReadLimits', 'get_read_limits', 'set_read_limits',
    'read_limits', 'read_vrml', 'write_vrml', 'read_bnd', 'write_bnd',
    'read_lm3', 'read_lm2', 'write_lm3', 'write_lm2', 'read_bnt',
    'write_bnt', 'grid_faces', 'read_obj', 'read_off', 'read_ply',
    'read_trimesh', 'write_trimesh', 'TRIMESH_EXTENSIONS', 'MESH_EXTENSIONS',
    'load_mesh', 'load_landmarks'
]
