# Copyright (c) mmfer4d contributors. All rights reserved.
"""A non-editable install in a fresh virtual environment serves our configs
and tools: mmengine's ``mmfer4d::`` base configs, ``mim search mmfer4d``
and ``mim train mmfer4d CONFIG``.

The environment is cheap: ``python -m venv --without-pip``, the running
environment's site-packages (torch, mmengine, ...) reached through a
``.pth`` file, and the project installed with ``pip install --no-deps
--target`` from a copy of the checkout's files. Everything runs from a
folder outside the checkout with no ``PYTHONPATH``, so only the installed
copy (``site-packages/mmfer4d/.mim``) can serve configs and tools. About a
minute: building the wheel, three interpreters that import mmfer4d, and one
training iteration (its render kernels compile once for the new copy).
"""
import importlib.util
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import sysconfig

import pytest
import yaml

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(HERE)
sys.path.insert(0, osp.join(HERE, 'test_tools'))
from tiny_fer_helpers import (SMILE_VLM_CONFIG,  # noqa: E402
                              tiny_smile_vlm_options)

# the config as mmengine's ``mmfer4d::`` prefix names it
CONFIG_NAME = osp.relpath(SMILE_VLM_CONFIG, osp.join(REPO, 'configs'))


def _checkout_files():
    """The checkout's files as git sees them: tracked, and untracked but
    not ignored (what a commit would hold)."""
    try:
        out = subprocess.run(
            ['git', 'ls-files', '-z', '--cached', '--others',
             '--exclude-standard'],
            cwd=REPO, capture_output=True, check=True).stdout
        return [f for f in out.decode().split('\0')
                if f and osp.isfile(osp.join(REPO, f))]
    except (OSError, subprocess.CalledProcessError):
        pytest.skip('git is needed to list the checkout\'s files')


def _face_model():
    """The ICT face model npz the checkout finds, for the installed copy."""
    for path in (os.environ.get('MMFER4D_ICT_FACE_MODEL'),
                 osp.join(REPO, 'data', 'ict_facekit', 'ict_face_model.npz'),
                 osp.join(REPO, '..', 'shared', 'data', 'ict_facekit',
                          'ict_face_model.npz')):
        if path and osp.isfile(path):
            return osp.abspath(path)
    return None


@pytest.fixture(scope='module')
def fresh(tmp_path_factory):
    """``(python, site_packages, env, cwd)`` of the fresh environment."""
    if importlib.util.find_spec('mim') is None:
        pytest.skip('openmim is not installed (requirements/tests.txt)')
    root = tmp_path_factory.mktemp('fresh_install')
    src = root / 'src'
    for name in _checkout_files():
        dst = src / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(osp.join(REPO, name), dst)
    venv = root / 'venv'
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip',
                    str(venv)], check=True)
    python = str(venv / 'bin' / 'python')
    site = subprocess.run(
        [python, '-c', 'import sysconfig; print(sysconfig.get_paths()'
         '["purelib"])'], capture_output=True, text=True,
        check=True).stdout.strip()
    # the running environment's packages, after the fresh site-packages
    deps = {sysconfig.get_paths()[k] for k in ('purelib', 'platlib')}
    with open(osp.join(site, '_mmfer4d_test_deps.pth'), 'w') as f:
        f.write('\n'.join(sorted(deps)) + '\n')
    build = subprocess.run(
        [sys.executable, '-m', 'pip', 'install', '--quiet', '--no-deps',
         '--no-build-isolation', '--no-index', '--target', site, str(src)],
        capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-3000:]
    env = {k: v for k, v in os.environ.items()
           if k not in ('PYTHONPATH', 'PYTHONHOME')}
    env['PYTHONNOUSERSITE'] = '1'
    if _face_model():
        env['MMFER4D_ICT_FACE_MODEL'] = _face_model()
    cwd = root / 'work'
    cwd.mkdir()
    return python, site, env, str(cwd)


def _run(fresh, *args, timeout=300):
    python, _, env, cwd = fresh
    out = subprocess.run([python] + list(args), cwd=cwd, env=env,
                         capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, (out.stdout[-2000:], out.stderr[-3000:])
    return out.stdout


def test_model_index_imports_every_metafile_with_mim_fields():
    """What ``mim search`` and mmengine's ``mmfer4d::`` lookup read."""
    with open(osp.join(REPO, 'model-index.yml')) as f:
        imported = set(yaml.safe_load(f)['Import'])
    on_disk = {
        osp.relpath(osp.join(d, 'metafile.yml'), REPO)
        for d, _, files in os.walk(osp.join(REPO, 'configs'))
        if 'metafile.yml' in files
    }
    assert imported == on_disk
    for metafile in sorted(imported):
        with open(osp.join(REPO, metafile)) as f:
            meta = yaml.safe_load(f)
        collections = {c['Name'] for c in meta['Collections']}
        for model in meta['Models']:
            assert model['In Collection'] in collections, model['Name']
            # mmengine keys a config by the path after ``configs/``
            assert model['Config'].startswith('configs/'), model['Name']
            assert osp.isfile(osp.join(REPO, model['Config'])), model['Name']


def test_the_wheel_carries_configs_and_tools(fresh):
    _, site, _, _ = fresh
    mim = osp.join(site, 'mmfer4d', '.mim')
    assert osp.isfile(osp.join(mim, 'model-index.yml'))
    assert osp.isfile(osp.join(mim, 'configs', CONFIG_NAME))
    assert osp.isfile(osp.join(mim, 'configs', '_base_',
                               'default_runtime.py'))
    for tool in ('train.py', 'test.py', 'analysis_tools/get_flops.py',
                 'visualization/browse_dataset.py'):
        assert osp.isfile(osp.join(mim, 'tools', tool)), tool
    assert not osp.exists(osp.join(REPO, 'mmfer4d', '.mim'))


def test_a_config_inherits_installed_mmfer4d_configs(fresh):
    _, site, _, cwd = fresh
    with open(osp.join(cwd, 'my_config.py'), 'w') as f:
        f.write(f"_base_ = ['mmfer4d::{CONFIG_NAME}']\n"
                'train_dataloader = dict(batch_size=2)\n')
    code = '\n'.join([
        'import json, mmfer4d',
        'from mmengine.config import Config',
        'from mmfer4d.registry import DATASETS',
        "cfg = Config.fromfile('my_config.py')",
        f"path, scope = Config._get_cfg_path('mmfer4d::{CONFIG_NAME}', "
        "'my_config.py')",
        'ds = dict(cfg.train_dataloader.dataset, lazy_init=True)',
        'steps = [type(t).__name__ for t in DATASETS.build(ds).pipeline'
        '.transforms]',
        'print(json.dumps(dict(package=mmfer4d.__file__, base=path,',
        '    scope=scope, batch=cfg.train_dataloader.batch_size,',
        '    model=cfg.model.type, steps=steps)))',
    ])
    info = json.loads(_run(fresh, '-c', code).splitlines()[-1])
    assert info['package'].startswith(site)
    assert info['base'] == osp.join(site, 'mmfer4d', '.mim', 'configs',
                                    CONFIG_NAME)
    assert info['scope'] == 'mmfer4d' and info['batch'] == 2
    # the model and the pipeline (built without a default scope) are ours
    assert info['model'] and 'RenderMultiView' in info['steps']


def test_mim_search_lists_the_model_zoo(fresh):
    _, site, _, cwd = fresh
    assert 'smile-vlm' in _run(fresh, '-m', 'mim', 'search', 'mmfer4d')
    out = osp.join(cwd, 'search.json')
    _run(fresh, '-m', 'mim', 'search', 'mmfer4d', '--json', out)
    with open(out) as f:
        configs = json.load(f)['config']  # pandas' {field: {model: value}}
    with open(osp.join(REPO, 'model-index.yml')) as f:
        metafiles = yaml.safe_load(f)['Import']
    expected = set()
    for metafile in metafiles:
        with open(osp.join(REPO, metafile)) as f:
            expected |= {m['Name'] for m in yaml.safe_load(f)['Models']}
    assert set(configs) == expected
    for name, config in configs.items():
        assert osp.isfile(osp.join(site, 'mmfer4d', '.mim', config)), name


def test_mim_train_runs_the_installed_tool_on_an_installed_config(fresh):
    _, site, _, cwd = fresh
    work_dir = osp.join(cwd, 'mim_train')
    options = tiny_smile_vlm_options(validate=False)
    # one iteration of 4 scans
    options = [o for o in options if 'num_subjects' not in o] + [
        'train_dataloader.dataset.num_subjects=2',
        'train_dataloader.dataset.num_folds=2',
        'test_dataloader.dataset.num_subjects=2',
        'test_dataloader.dataset.num_folds=2',
    ]
    out = _run(fresh, '-m', 'mim', 'train', 'mmfer4d',
               osp.basename(SMILE_VLM_CONFIG), '--work-dir', work_dir,
               '--no-validate', '--cfg-options', *options, timeout=600)
    installed = osp.join(site, 'mmfer4d', '.mim')
    assert f'{installed}/tools/train.py' in out
    assert f'{installed}/configs/{CONFIG_NAME}' in out
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth'))
