# Copyright (c) mmfer4d contributors. All rights reserved.
"""Registries of mmfer4d, children of mmpretrain's.

Every registry here lives in the ``mmfer4d`` scope and has mmpretrain's
registry of the same kind as parent. In a config with
``default_scope='mmfer4d'`` both our own types (``type='RenderMultiView'``)
and the zoo's (``type='ResNet'``) resolve; ``type='mmpretrain.ResNet'`` names
the zoo explicitly. ``locations`` lets a registry import the modules that
register into it the first time it is asked to build something.
"""
from mmengine.registry import INFERENCERS as MMENGINE_INFERENCERS
from mmengine.registry import Registry
from mmpretrain.registry import BATCH_AUGMENTS as MMPRETRAIN_BATCH_AUGMENTS
from mmpretrain.registry import DATA_SAMPLERS as MMPRETRAIN_DATA_SAMPLERS
from mmpretrain.registry import DATASETS as MMPRETRAIN_DATASETS
from mmpretrain.registry import EVALUATORS as MMPRETRAIN_EVALUATORS
from mmpretrain.registry import HOOKS as MMPRETRAIN_HOOKS
from mmpretrain.registry import LOG_PROCESSORS as MMPRETRAIN_LOG_PROCESSORS
from mmpretrain.registry import LOOPS as MMPRETRAIN_LOOPS
from mmpretrain.registry import METRICS as MMPRETRAIN_METRICS
from mmpretrain.registry import MODEL_WRAPPERS as MMPRETRAIN_MODEL_WRAPPERS
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
from mmpretrain.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMPRETRAIN_OPTIM_WRAPPER_CONSTRUCTORS
from mmpretrain.registry import OPTIM_WRAPPERS as MMPRETRAIN_OPTIM_WRAPPERS
from mmpretrain.registry import OPTIMIZERS as MMPRETRAIN_OPTIMIZERS
from mmpretrain.registry import PARAM_SCHEDULERS as MMPRETRAIN_PARAM_SCHEDULERS
from mmpretrain.registry import \
    RUNNER_CONSTRUCTORS as MMPRETRAIN_RUNNER_CONSTRUCTORS
from mmpretrain.registry import RUNNERS as MMPRETRAIN_RUNNERS
from mmpretrain.registry import TASK_UTILS as MMPRETRAIN_TASK_UTILS
from mmpretrain.registry import TOKENIZER as MMPRETRAIN_TOKENIZER
from mmpretrain.registry import TRANSFORMS as MMPRETRAIN_TRANSFORMS
from mmpretrain.registry import VISBACKENDS as MMPRETRAIN_VISBACKENDS
from mmpretrain.registry import VISUALIZERS as MMPRETRAIN_VISUALIZERS
from mmpretrain.registry import \
    WEIGHT_INITIALIZERS as MMPRETRAIN_WEIGHT_INITIALIZERS

__all__ = [
    'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'LOG_PROCESSORS',
    'OPTIMIZERS', 'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS',
    'PARAM_SCHEDULERS', 'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS',
    'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS', 'BATCH_AUGMENTS', 'TASK_UTILS',
    'METRICS', 'EVALUATORS', 'VISUALIZERS', 'VISBACKENDS', 'INFERENCERS',
    'TOKENIZER'
]


def _child(name: str, parent: Registry, location: str) -> Registry:
    """A registry of scope ``mmfer4d`` whose parent is ``parent``.

    Its locations are ours plus the parent's, so that the first lookup
    imports the zoo's modules as well and ``type='ResNet'`` resolves even
    when nothing has imported ``mmpretrain.models`` yet.
    """
    return Registry(
        name,
        parent=parent,
        scope='mmfer4d',
        locations=[location] + list(parent._locations))


#######################################################################
#                           Runner and loops                          #
#######################################################################

RUNNERS = _child('runner', MMPRETRAIN_RUNNERS, 'mmfer4d.engine')
RUNNER_CONSTRUCTORS = _child('runner constructor',
                             MMPRETRAIN_RUNNER_CONSTRUCTORS, 'mmfer4d.engine')
LOOPS = _child('loop', MMPRETRAIN_LOOPS, 'mmfer4d.engine')
HOOKS = _child('hook', MMPRETRAIN_HOOKS, 'mmfer4d.engine')
LOG_PROCESSORS = _child('log processor', MMPRETRAIN_LOG_PROCESSORS,
                        'mmfer4d.engine')

#######################################################################
#                              Optimizers                             #
#######################################################################

OPTIMIZERS = _child('optimizer', MMPRETRAIN_OPTIMIZERS, 'mmfer4d.engine')
OPTIM_WRAPPERS = _child('optimizer_wrapper', MMPRETRAIN_OPTIM_WRAPPERS,
                        'mmfer4d.engine')
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor',
                                    MMPRETRAIN_OPTIM_WRAPPER_CONSTRUCTORS,
                                    'mmfer4d.engine')
PARAM_SCHEDULERS = _child('parameter scheduler', MMPRETRAIN_PARAM_SCHEDULERS,
                          'mmfer4d.engine')

#######################################################################
#                                 Data                                #
#######################################################################

DATASETS = _child('dataset', MMPRETRAIN_DATASETS, 'mmfer4d.datasets')
DATA_SAMPLERS = _child('data sampler', MMPRETRAIN_DATA_SAMPLERS,
                       'mmfer4d.datasets')
TRANSFORMS = _child('transform', MMPRETRAIN_TRANSFORMS,
                    'mmfer4d.datasets.transforms')

#######################################################################
#                             Model                                   #
#######################################################################

MODELS = _child('model', MMPRETRAIN_MODELS, 'mmfer4d.models')
MODEL_WRAPPERS = _child('model_wrapper', MMPRETRAIN_MODEL_WRAPPERS,
                        'mmfer4d.models')
WEIGHT_INITIALIZERS = _child('weight initializer',
                             MMPRETRAIN_WEIGHT_INITIALIZERS, 'mmfer4d.models')
BATCH_AUGMENTS = _child('batch augment', MMPRETRAIN_BATCH_AUGMENTS,
                        'mmfer4d.models')
TASK_UTILS = _child('task util', MMPRETRAIN_TASK_UTILS, 'mmfer4d.models')
TOKENIZER = _child('tokenizer', MMPRETRAIN_TOKENIZER, 'mmfer4d.models')

#######################################################################
#                       Evaluation and inference                      #
#######################################################################

METRICS = _child('metric', MMPRETRAIN_METRICS, 'mmfer4d.evaluation')
EVALUATORS = _child('evaluator', MMPRETRAIN_EVALUATORS, 'mmfer4d.evaluation')
VISUALIZERS = _child('visualizer', MMPRETRAIN_VISUALIZERS,
                     'mmfer4d.visualization')
VISBACKENDS = _child('vis_backend', MMPRETRAIN_VISBACKENDS,
                     'mmfer4d.visualization')
# mmpretrain keeps no inferencer registry; ours has mmengine's as parent.
INFERENCERS = _child('inferencer', MMENGINE_INFERENCERS, 'mmfer4d.apis')
