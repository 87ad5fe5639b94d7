# Copyright (c) mmfer4d contributors. All rights reserved.
import os
import os.path as osp
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py


def readme():
    with open('README.md', encoding='utf-8') as f:
        return f.read()


def get_version():
    scope = {}
    with open(osp.join('mmfer4d', 'version.py'), encoding='utf-8') as f:
        exec(compile(f.read(), 'mmfer4d/version.py', 'exec'), scope)
    return scope['__version__']


def parse_requirements(fname):
    """Requirement lines of a file, following ``-r`` includes."""
    requires = []
    with open(fname, encoding='utf-8') as f:
        for line in f:
            line = line.split('#')[0].strip()
            if not line:
                continue
            if line.startswith('-r '):
                requires += parse_requirements(
                    osp.join(osp.dirname(fname), line[3:].strip()))
            else:
                requires.append(line)
    return requires


# What mim (``mim search/train/test mmfer4d``) and mmengine
# (``_base_ = ['mmfer4d::...']``) look up in an installed package's ``.mim``.
MIM_FILES = ('configs', 'tools', 'model-index.yml')


class BuildPyWithMim(build_py):
    """``build_py`` that also copies :data:`MIM_FILES` to ``mmfer4d/.mim``.

    Like mmpretrain's ``.mim`` folder, but written into the build tree only,
    so a wheel (``pip install .``) carries the configs and tools and the
    checkout is left as it was. An editable install gets none: mmengine and
    mim find ``.mim`` beside the installed distribution, where an editable
    install has no package folder.
    """

    def run(self):
        super().run()
        if getattr(self, 'editable_mode', False):
            return
        root = osp.dirname(osp.abspath(__file__))
        target = osp.join(self.build_lib, 'mmfer4d', '.mim')
        os.makedirs(target, exist_ok=True)
        for name in MIM_FILES:
            src, dst = osp.join(root, name), osp.join(target, name)
            if osp.isdir(src):
                shutil.copytree(
                    src,
                    dst,
                    dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
            else:
                shutil.copyfile(src, dst)


if __name__ == '__main__':
    setup(
        name='mmfer4d',
        version=get_version(),
        description='3D/4D facial expression recognition for the OpenMMLab '
        'model zoo (SMILE-VLM, MF2)',
        long_description=readme(),
        long_description_content_type='text/markdown',
        keywords='3D facial expression recognition, 4D, micro-expression, '
        'vision-language, multiview, OpenMMLab',
        packages=find_packages(exclude=('configs', 'tools', 'tests')),
        include_package_data=True,
        # The ICT-FaceKit model (MIT) that the synthetic data sets are made
        # from ships with its LICENSE and attribution README.
        package_data={
            'mmfer4d': [
                '**/*.json', '**/*.yml', '**/*.yaml',
                'synthesis/data/ict_facekit/*'
            ]
        },
        python_requires='>=3.8',
        license='Apache License 2.0',
        # mmcv is deliberately absent: mmcv-lite on CPU machines, full mmcv
        # (through mim) on GPU machines; both import as ``mmcv``.
        install_requires=parse_requirements('requirements/runtime.txt'),
        extras_require={
            'tests': parse_requirements('requirements/tests.txt'),
            'optional': parse_requirements('requirements/optional.txt'),
            'web': parse_requirements('requirements/web.txt'),
            'all': parse_requirements('requirements.txt'),
        },
        cmdclass={'build_py': BuildPyWithMim},
        zip_safe=False)
