# Copyright (c) mmfer4d contributors. All rights reserved.
"""mmfer4d: 3D/4D facial expression recognition for the OpenMMLab zoo."""
import mmengine
import mmpretrain
from mmengine.utils import digit_version

from .version import __version__, version_info

mmengine_minimum_version = '0.10.0'
mmengine_maximum_version = '1.0.0'
mmengine_version = digit_version(mmengine.__version__)

mmpretrain_minimum_version = '1.2.0'
mmpretrain_maximum_version = '1.3.0'
mmpretrain_version = digit_version(mmpretrain.__version__)

assert (mmengine_version >= digit_version(mmengine_minimum_version)
        and mmengine_version < digit_version(mmengine_maximum_version)), \
    f'MMEngine=={mmengine.__version__} is used but incompatible. ' \
    f'Please install mmengine>={mmengine_minimum_version}, ' \
    f'<{mmengine_maximum_version}: ' \
    f'pip install "mmengine>={mmengine_minimum_version},' \
    f'<{mmengine_maximum_version}"'

assert (mmpretrain_version >= digit_version(mmpretrain_minimum_version)
        and mmpretrain_version < digit_version(mmpretrain_maximum_version)), \
    f'MMPretrain=={mmpretrain.__version__} is used but incompatible. ' \
    f'Please install mmpretrain>={mmpretrain_minimum_version}, ' \
    f'<{mmpretrain_maximum_version}: ' \
    f'pip install "mmpretrain>={mmpretrain_minimum_version},' \
    f'<{mmpretrain_maximum_version}"'

# torch>=2.6 loads with weights_only=True: allow-list what mmengine
# checkpoints pickle, in every process that imports mmfer4d (our tools, and
# mmpretrain's through ``custom_imports``).
from .utils.checkpoint import register_checkpoint_safe_globals  # noqa: E402

register_checkpoint_safe_globals()

# ``_base_ = ['mmfer4d::smile_vlm/...']``: mmengine resolves ``package::``
# only for the packages in its own table, and reads their configs from the
# installed ``.mim/configs`` (a wheel install has it, see setup.py).
from mmengine.config.utils import MODULE2PACKAGE  # noqa: E402

MODULE2PACKAGE.setdefault('mmfer4d', 'mmfer4d')

__all__ = ['__version__', 'version_info', 'digit_version']
