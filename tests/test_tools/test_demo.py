# Copyright (c) mmfer4d contributors. All rights reserved.
"""tools/demo.py (the `make demo` job) on a really tiny setting.

Five subjects (fold 0 of 5: four train, one test), one epoch, 32 px, no
data-loader workers: the orchestration runs end to end in seconds and
writes the JSON, the Markdown table and the PNGs. No accuracy is asserted.
The parts (registry, config edits, table) are tested without training in
tests/test_apis/test_demo_*.py.
"""
import glob
import importlib.util
import json
import os.path as osp

import pytest
from mmengine.config import Config

from mmfer4d.apis.demo import RUNS

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.join(HERE, '..', '..')
TOOLS = osp.join(ROOT, 'tools')
TINY = [
    '--num-subjects', '5', '--epochs', '1', '--img-size', '32',
    '--num-workers', '0'
]


def _load_tool(name):
    spec = importlib.util.spec_from_file_location(
        f'_tool_{name}', osp.join(TOOLS, f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def demo():
    return _load_tool('demo')


@pytest.fixture(scope='module')
def main_run(demo, tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('demo')
    records = demo.main(['--work-dir', str(work_dir), '--what', 'main'] +
                        TINY)
    return work_dir, records


def test_main_writes_results_pictures_and_table(main_run, capsys):
    work_dir, records = main_run
    assert set(records) == {'smile-vlm', 'smile-vlm-linear'}
    for name in ('browse_dataset.png', 'confusion_matrix.png', 'tsne.png',
                 'results.json', 'leaderboard.md'):
        path = osp.join(work_dir, name)
        assert osp.isfile(path) and osp.getsize(path) > 0, name
    with open(osp.join(work_dir, 'results.json')) as f:
        results = json.load(f)
    assert results['benchmark'] == 'synthetic'
    zero_shot = results['runs']['smile-vlm']
    metrics = zero_shot['folds']['0']
    # One held-out subject: 6 expressions x intensities 3-4.
    assert sum(map(sum, metrics['fer/confusion_matrix'])) == 12
    assert 0.0 <= metrics['fer/top1'] <= 100.0
    assert {'fer/acc_intensity_3', 'fer/acc_intensity_4'} <= set(metrics)
    assert zero_shot['protocol']['intensities'] == [3, 4]
    assert zero_shot['protocol']['folds'] == 5
    assert results['runs']['smile-vlm-linear']['evaluation'] == \
        'linear probe'
    assert results['outputs']['data']['test'] == dict(
        samples=12, subjects=1)
    table = open(osp.join(work_dir, 'leaderboard.md')).read()
    assert 'Synthetic benchmark' in table
    assert table.count('| SMILE-VLM |') == 2
    # The RESULTS.json of each run is readable by tools/leaderboard.py.
    board = _load_tool('leaderboard')
    code = board.main([
        osp.join(work_dir, 'smile-vlm', 'RESULTS.json'), '--benchmark',
        'synthetic'
    ])
    assert code in (None, 0)


def test_linear_probe_starts_from_the_trained_checkpoint(main_run):
    work_dir, _ = main_run
    log = open(glob.glob(
        osp.join(work_dir, 'smile-vlm-linear', '*', '*.log'))[0]).read()
    ckpt = osp.join(str(work_dir), 'smile-vlm', 'epoch_1.pth')
    # The one-line summary of mmfer4d's Pretrained loader names the file
    # and how many tensors it took from it.
    line, = [x for x in log.splitlines() if 'Pretrained:' in x]
    assert f'from {ckpt};' in line
    assert int(line.split('Pretrained: ')[1].split()[0]) > 0


def test_later_invocation_adds_rows_to_the_same_table(demo, main_run):
    work_dir, _ = main_run
    records = demo.main(['--work-dir', str(work_dir), '--what', 'baseline',
                         '--no-pictures'] + TINY)
    assert set(records) == {'smile-vlm', 'smile-vlm-linear', 'mv-ce'}
    table = open(osp.join(work_dir, 'leaderboard.md')).read()
    assert 'Multi-view CE baseline' in table and '| SMILE-VLM |' in table


def test_reuse_keeps_the_wall_time(demo, main_run):
    work_dir, _ = main_run
    first = json.load(open(osp.join(work_dir, 'results.json')))
    wall = first['runs']['smile-vlm']['wall_s']['0']
    assert wall > 0
    demo.main(['--work-dir', str(work_dir), '--what', 'main', '--reuse',
               '--no-pictures'] + TINY)
    again = json.load(open(osp.join(work_dir, 'results.json')))
    assert again['runs']['smile-vlm']['wall_s']['0'] == pytest.approx(wall)
    row = [line for line in open(osp.join(work_dir, 'leaderboard.md'))
           if line.startswith('| SMILE-VLM | weak')][0]
    assert not row.rstrip().endswith('| - |')


DEMO_CONFIGS = sorted({
    path
    for spec in RUNS.values() for path in (spec.config, spec.full) if path
})


@pytest.mark.parametrize(
    'name', DEMO_CONFIGS, ids=[osp.basename(p) for p in DEMO_CONFIGS])
def test_demo_configs_build(name):
    """Every demo config builds its model and its data sets."""
    from mmengine.registry import init_default_scope

    import mmfer4d  # noqa: F401
    from mmfer4d.registry import DATASETS, MODELS
    init_default_scope('mmfer4d')
    cfg = Config.fromfile(name)
    if 'resnet50' in name:
        # Real size: only check the config names a 512-d model and the
        # GPU-sized loaders (building it needs the CLIP weights).
        assert cfg.model.projector.get('out_channels', 512) == 512
        assert cfg.train_dataloader.num_workers == 8
        return
    model_cfg = cfg.model.copy()
    model_cfg.pop('init_cfg', None)
    # As mmengine's Runner does: the data-set config's preprocessor.
    model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(model_cfg)
    assert model.num_classes == 6
    # depth (1) + normal (3) channels, or normals only
    channels = 3 if '-normal-' in name else 4
    assert model.in_channels == channels
    for field in ('train_dataloader', 'test_dataloader'):
        ds_cfg = cfg[field].dataset.copy()
        ds_cfg.update(num_subjects=5)
        dataset = DATASETS.build(ds_cfg)
        assert len(dataset) > 0
        sample = dataset[0]
        assert sample['inputs'].shape[-3:] == (channels, cfg.img_size,
                                               cfg.img_size)
