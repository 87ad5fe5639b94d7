# Copyright (c) mmfer4d contributors. All rights reserved.
"""A fresh clone synthesises a sample with nothing outside it (issue 12):
the face model ships in the repository, not beside it."""
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest

HERE = osp.dirname(osp.abspath(__file__))

# Run in the clone: the package, the face model and the synthesised mesh
# must all come from there.
CODE = '''
import os.path as osp
import sys

clone = osp.realpath(sys.argv[1])
import mmfer4d
assert osp.realpath(mmfer4d.__file__).startswith(clone + osp.sep), \\
    mmfer4d.__file__
from mmfer4d.datasets import SyntheticFER3D
from mmfer4d.registry import TRANSFORMS
from mmfer4d.synthesis import load_face_model

data = SyntheticFER3D(num_subjects=1)
synth = TRANSFORMS.build(dict(type='SynthesizeFaceMesh', texture_size=32))
mesh = synth(dict(data.get_data_info(0)))['mesh'].validate()
model = load_face_model()
assert osp.realpath(model.path).startswith(clone + osp.sep), model.path
assert mesh.num_vertices == model.num_vertices
print('synthesised', mesh.num_vertices, 'vertices from', model.path)
'''


def _git(*args, cwd):
    return subprocess.run(['git', *args],
                          cwd=cwd,
                          check=True,
                          capture_output=True,
                          text=True,
                          timeout=300).stdout.strip()


def test_fresh_clone_synthesises_a_sample(tmp_path):
    if shutil.which('git') is None:
        pytest.skip('git is not installed')
    try:
        top = _git('rev-parse', '--show-toplevel', cwd=HERE)
    except subprocess.CalledProcessError:
        pytest.skip('the tests do not sit in a git checkout')
    head = _git('rev-parse', 'HEAD', cwd=top)
    clone = tmp_path / 'clone'
    _git('clone', '--quiet', top, str(clone), cwd=str(tmp_path))
    _git('checkout', '--quiet', '--detach', head, cwd=str(clone))
    # Nothing beside the clone: no sibling shared/ or data/.
    assert os.listdir(tmp_path) == ['clone']
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ('MMFER4D_ICT_FACE_MODEL', 'PYTHONPATH')
    }
    env['PYTHONPATH'] = str(clone)
    out = subprocess.run([sys.executable, '-c', CODE, str(clone)],
                         cwd=str(clone),
                         env=env,
                         capture_output=True,
                         text=True,
                         timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr[-4000:]
    assert 'synthesised' in out.stdout
