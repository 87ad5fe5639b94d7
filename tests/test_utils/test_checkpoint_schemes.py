# Copyright (c) mmfer4d contributors. All rights reserved.
"""Tests of ``mmfer4d/utils/checkpoint_schemes.py``: a payload in a cached
URL download (and behind every other mmengine prefix) is refused through
every entry point, and nothing is downloaded here.

mmengine's own ``http(s)://`` loader reads torch hub's cache file for a URL
(``$TORCH_HOME/hub/checkpoints/<file name>``) with ``weights_only=False``.
Each test puts a hostile file there (or behind ``open-mmlab://``,
``torchvision://``, ``mmcls://``, ``s3://``, ``pavi://``); if it ran, the
payload would create a marker file.
"""
import json
import os
import os.path as osp
import subprocess
import sys
import types
import zipfile

import pytest
import torch
from mmengine.model import BaseModel, BaseModule
from mmengine.runner import Runner, load_checkpoint
from mmengine.runner.checkpoint import (CheckpointLoader, get_external_models,
                                        get_mmcls_models,
                                        get_torchvision_models)
from torch import nn

from mmfer4d.utils import (UnsafeCheckpointError, UnsupportedCheckpointError,
                           checkpoint_schemes, register_checkpoint_schemes,
                           unsafe_schemes)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(REPO, 'tests', 'test_tools'))
from tiny_fer_helpers import SMILE_VLM_CONFIG  # noqa: E402
from tiny_fer_helpers import tiny_smile_vlm_options  # noqa: E402

URL = 'https://download.example.invalid/models/evil-0123abcd.pth'


class Payload:
    """Runs ``touch marker`` when unpickled by a full unpickler."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


class ToyModel(BaseModel):

    def __init__(self, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return self.linear(inputs)


class ToyBackbone(BaseModule):

    def __init__(self, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.linear = nn.Linear(2, 1)


def hostile(path, marker):
    torch.save(
        dict(state_dict=nn.Linear(2, 1).state_dict(),
             meta=dict(x=Payload(marker))), path)


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """An empty torch home; downloading fails loudly."""
    torch_home = tmp_path / 'torch'
    monkeypatch.setenv('TORCH_HOME', str(torch_home))
    monkeypatch.setattr(torch.hub, '_hub_dir', None)

    def no_network(url, *args, **kwargs):
        raise AssertionError(f'tried to download {url}')

    monkeypatch.setattr(torch.hub, 'download_url_to_file', no_network)
    cache = torch_home / 'hub' / 'checkpoints'
    cache.mkdir(parents=True)
    return cache


@pytest.fixture
def cached_payload(hub, tmp_path):
    """The hostile file as torch hub's cache entry of ``URL``."""
    marker = tmp_path / 'payload-ran'
    path = hub / osp.basename(URL)
    hostile(path, marker)
    return path, marker


def assert_refused(info, cached, marker, url=URL):
    message = str(info.value)
    assert url in message and str(cached) in message, message
    assert 'posix.system' in message, message
    assert not marker.exists(), 'the payload ran'


def test_every_prefix_is_ours():
    assert unsafe_schemes() == []
    for path in ('x.pth', URL, 'http://a/b.pth', 'open-mmlab://x',
                 'openmmlab://x', 'torchvision://x', 'modelzoo://x',
                 'mmcls://x', 'pavi://x', 's3://b/x', 'cluster:s3://b/x',
                 'petrel://b/x'):
        loader = CheckpointLoader._get_checkpoint_loader(path)
        assert loader.__module__.startswith('mmfer4d.utils'), path


def test_load_checkpoint(cached_payload):
    cached, marker = cached_payload
    with pytest.raises(UnsafeCheckpointError) as info:
        load_checkpoint(ToyModel(), URL)
    assert_refused(info, cached, marker)


@pytest.mark.parametrize('resume', [False, True])
def test_runner_load_from(cached_payload, tmp_path, resume):
    cached, marker = cached_payload
    runner = Runner(
        model=ToyModel(),
        work_dir=str(tmp_path / 'work'),
        load_from=URL,
        resume=resume,
        default_scope='mmfer4d',
        experiment_name=f'test_schemes_runner_{resume}')
    with pytest.raises(UnsafeCheckpointError) as info:
        runner.load_or_resume()
    assert_refused(info, cached, marker)


@pytest.mark.parametrize('prefix', [None, 'backbone'])
def test_init_cfg_pretrained(cached_payload, prefix):
    cached, marker = cached_payload
    init_cfg = dict(type='Pretrained', checkpoint=URL)
    if prefix:
        init_cfg['prefix'] = prefix
    with pytest.raises(UnsafeCheckpointError) as info:
        ToyBackbone(init_cfg=init_cfg).init_weights()
    assert_refused(info, cached, marker)


def run_tool(args, torch_home, cwd):
    env = dict(os.environ, TORCH_HOME=str(torch_home))
    return subprocess.run([sys.executable, *args],
                          cwd=str(cwd),
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=300)


def assert_tool_refused(proc, marker):
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert 'UnsafeCheckpointError' in output, output[-3000:]
    assert URL in output and 'posix.system' in output
    assert not marker.exists(), 'the payload ran'


def test_tools_test(cached_payload, tmp_path):
    cached, marker = cached_payload
    proc = run_tool([
        osp.join(REPO, 'tools', 'test.py'), SMILE_VLM_CONFIG, URL,
        '--work-dir',
        str(tmp_path / 'work'), '--cfg-options',
        *tiny_smile_vlm_options(validate=False)
    ], cached.parent.parent.parent, tmp_path)
    assert_tool_refused(proc, marker)


def test_tools_register_the_loaders_without_custom_imports(tmp_path):
    code = ('import importlib.util, sys\n'
            'from mmengine.runner.checkpoint import CheckpointLoader\n'
            'for tool in sys.argv[1:]:\n'
            '    spec = importlib.util.spec_from_file_location("t", tool)\n'
            '    spec.loader.exec_module(importlib.util.module_from_spec('
            'spec))\n'
            'print(CheckpointLoader._get_checkpoint_loader(\n'
            '    "https://a/b.pth").__module__)\n')
    proc = run_tool([
        '-c', code,
        osp.join(REPO, 'tools', 'test.py'),
        osp.join(REPO, 'tools', 'train.py')
    ], tmp_path, tmp_path)
    assert proc.stdout.split() == ['mmfer4d.utils.checkpoint_schemes'], \
        proc.stderr[-2000:]


def test_tools_infer(cached_payload, tmp_path):
    cached, marker = cached_payload
    proc = run_tool([
        osp.join(REPO, 'tools', 'infer.py'), '--config', SMILE_VLM_CONFIG,
        '--checkpoint', URL, 'scan.obj'
    ], cached.parent.parent.parent, tmp_path)
    assert_tool_refused(proc, marker)


def first_http(table):
    return next((name, url) for name, url in table.items()
                if url.startswith('https://'))


def test_named_prefixes(hub, tmp_path):
    marker = tmp_path / 'payload-ran'
    name, url = first_http(get_external_models())
    mmcls_name, mmcls_url = first_http(get_mmcls_models())
    tv_url = get_torchvision_models()['resnet18']
    cases = [(f'open-mmlab://{name}', url), (f'openmmlab://{name}', url),
             (f'mmcls://{mmcls_name}', mmcls_url),
             ('torchvision://resnet18', tv_url),
             ('modelzoo://resnet18', tv_url)]
    for path, url in cases:
        cached = hub / osp.basename(url)
        hostile(cached, marker)
        with pytest.raises(UnsafeCheckpointError) as info:
            load_checkpoint(ToyModel(), path)
        assert_refused(info, cached, marker, url)


def test_open_mmlab_local_entry(tmp_path, monkeypatch):
    # An open_mmlab.json entry that is not a URL names a file under
    # $MMENGINE_HOME.
    home = tmp_path / 'mmengine'
    (home / 'mine').mkdir(parents=True)
    (home / 'open_mmlab.json').write_text(
        json.dumps({'mine/evil': 'mine/evil.pth'}))
    marker = tmp_path / 'payload-ran'
    hostile(home / 'mine' / 'evil.pth', marker)
    monkeypatch.setenv('MMENGINE_HOME', str(home))
    with pytest.raises(UnsafeCheckpointError,
                       match='posix.system') as info:
        load_checkpoint(ToyModel(), 'open-mmlab://mine/evil')
    assert str(home / 'mine' / 'evil.pth') in str(info.value)
    assert not marker.exists()


@pytest.mark.parametrize('path', ['s3://bucket/evil.pth',
                                  'cluster:s3://bucket/evil.pth',
                                  'petrel://bucket/evil.pth'])
def test_object_storage(path, tmp_path, monkeypatch):
    marker = tmp_path / 'payload-ran'
    hostile(tmp_path / 'evil.pth', marker)
    data = (tmp_path / 'evil.pth').read_bytes()

    class Backend:

        def get(self, filepath):
            assert filepath == path
            return data

    monkeypatch.setattr(checkpoint_schemes, 'get_file_backend',
                        lambda *args, **kwargs: Backend())
    with pytest.raises(UnsafeCheckpointError, match='posix.system') as info:
        load_checkpoint(ToyModel(), path)
    assert str(info.value).startswith(path)
    assert not marker.exists()


def test_pavi(tmp_path, monkeypatch):
    marker = tmp_path / 'payload-ran'
    hostile(tmp_path / 'evil.pth', marker)

    class Model:
        name = 'evil.pth'

        def download(self, target):
            with open(target, 'wb') as f:
                f.write((tmp_path / 'evil.pth').read_bytes())

    pavi = types.ModuleType('pavi')
    pavi.modelcloud = types.SimpleNamespace(get=lambda path: Model())
    monkeypatch.setitem(sys.modules, 'pavi', pavi)
    with pytest.raises(UnsafeCheckpointError, match='posix.system') as info:
        load_checkpoint(ToyModel(), 'pavi://project/evil')
    assert 'pavi://project/evil' in str(info.value)
    assert not marker.exists()


def test_unknown_mmengine_prefix_is_refused():

    def load_from_future(filename, map_location=None):
        raise AssertionError('mmengine\'s loader must not run')

    load_from_future.__module__ = 'mmengine.runner.checkpoint'
    CheckpointLoader.register_scheme('future://', load_from_future)
    try:
        register_checkpoint_schemes()
        with pytest.raises(UnsupportedCheckpointError, match='future://x'):
            load_checkpoint(ToyModel(), 'future://x')
    finally:
        CheckpointLoader._schemes.pop('future://')
    assert unsafe_schemes() == []


def test_a_legitimate_url_checkpoint_loads(hub):
    source = ToyModel()
    torch.save(dict(state_dict=source.state_dict()),
               hub / osp.basename(URL))
    model = ToyModel()
    load_checkpoint(model, URL)
    assert torch.equal(model.linear.weight, source.linear.weight)


def test_a_one_file_zip_in_the_cache_is_unpacked(hub, tmp_path):
    # torch hub's pre-1.6 convention: a zip holding one checkpoint file.
    source = ToyModel()
    inner = tmp_path / 'inner.pth'
    torch.save(source.state_dict(), inner,
               _use_new_zipfile_serialization=False)
    url = 'https://download.example.invalid/models/zipped.zip'
    with zipfile.ZipFile(hub / 'zipped.zip', 'w') as archive:
        archive.write(inner, 'inner.pth')
    model = ToyModel()
    load_checkpoint(model, url)
    assert torch.equal(model.linear.weight, source.linear.weight)


def test_a_missing_cache_entry_is_downloaded_once(hub, monkeypatch):
    source = ToyModel()
    calls = []

    def fake_download(url, dst, hash_prefix=None, progress=True):
        calls.append((url, dst))
        torch.save(source.state_dict(), dst)

    monkeypatch.setattr(torch.hub, 'download_url_to_file', fake_download)
    for _ in range(2):
        model = ToyModel()
        load_checkpoint(model, URL)
        assert torch.equal(model.linear.weight, source.linear.weight)
    assert calls == [(URL, str(hub / osp.basename(URL)))]
