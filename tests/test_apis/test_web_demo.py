# Copyright (c) mmfer4d contributors. All rights reserved.
"""The browser demo (``tools/web_demo.py``), in a real headless browser.

The page of the tiny SMILE-VLM config with a checkpoint of its random
initialisation is served by Gradio on a free local port; Debian's Chromium,
driven by Selenium through ``chromedriver``, loads it, uploads a face scan
that this test writes as Wavefront OBJ text (``v x y z`` vertex lines and
1-based ``f a b c`` face lines, as the format describes them), presses
Classify and reads the prediction, the scores and the rendered views off
the page. Skipped only when no Chromium / chromedriver is installed
(``apt-get install chromium chromium-driver``; ``.ci/run`` installs them).
"""
import importlib.util
import os.path as osp
import shutil
import socket

import pytest
import torch
from mmengine.config import Config

from mmfer4d.apis.web_demo import ELEMENT_IDS, FERWebDemo
from mmfer4d.datasets.categories import EXPRESSIONS_6

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(
    REPO, 'configs', 'smile_vlm',
    'smile-vlm_resnet18-w16_scratch_1xb32-20e_synthetic-fer3d-3view.py')
CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')
CHROMEDRIVER = shutil.which('chromedriver')
CHROME_FLAGS = ('--headless', '--no-sandbox', '--disable-gpu',
                '--disable-background-networking',
                '--disable-component-update', '--disable-sync',
                '--no-first-run', '--window-size=1280,1100')


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """The randomly initialised tiny SMILE-VLM, with its class names."""
    from mmengine.registry import init_default_scope

    from mmfer4d.models.utils import build_model_from_cfg
    init_default_scope('mmfer4d')
    torch.manual_seed(0)
    model = build_model_from_cfg(Config.fromfile(CONFIG))
    path = tmp_path_factory.mktemp('ckpt') / 'tiny_random.pth'
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=dict(classes=EXPRESSIONS_6))),
               path)
    return str(path)


@pytest.fixture(scope='module')
def face_obj(tmp_path_factory):
    """A synthetic face written by this test as OBJ text."""
    from mmfer4d.datasets import SyntheticFER3D
    from mmfer4d.datasets.transforms import SynthesizeFaceMesh
    dataset = SyntheticFER3D(num_subjects=1, classes=['surprise'],
                             intensities=[4], pipeline=[])
    mesh = SynthesizeFaceMesh()(dict(dataset.get_data_info(0)))['mesh']
    lines = ['# typed by test_web_demo.py']
    lines += [f'v {x:.4f} {y:.4f} {z:.4f}' for x, y, z in mesh.vertices]
    lines += [f'f {a + 1} {b + 1} {c + 1}' for a, b, c in mesh.faces]
    path = tmp_path_factory.mktemp('scan') / 'F0001_SU04.obj'
    path.write_text('\n'.join(lines) + '\n')
    return str(path)


def _tool():
    spec = importlib.util.spec_from_file_location(
        '_tool_web_demo', osp.join(REPO, 'tools', 'web_demo.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_checkpoint_trains_nothing_and_says_how(tmp_path, capsys):
    tool = _tool()
    assert tool.main([CONFIG]) == 2
    err = capsys.readouterr().err
    assert 'no checkpoint was given' in err
    assert f'python tools/train.py {CONFIG}' in err
    assert 'make demo' in err
    missing = str(tmp_path / 'epoch_9.pth')
    assert tool.main([CONFIG, missing]) == 2
    assert f'{missing} does not exist' in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # nothing trained, nothing written
    with pytest.raises(FileNotFoundError, match='trains nothing'):
        FERWebDemo(CONFIG, None)


def test_classify_without_a_browser(checkpoint, face_obj, tmp_path):
    demo = FERWebDemo(CONFIG, checkpoint, work_dir=str(tmp_path))
    picture, scores, text = demo.classify([face_obj])
    assert osp.isfile(picture) and open(picture, 'rb').read(4) == \
        b'\x89PNG'
    assert set(scores) == set(EXPRESSIONS_6)
    assert sum(scores.values()) == pytest.approx(1.0, abs=1e-4)
    top = max(scores, key=scores.get)
    assert text.startswith(f'**Prediction: {top}** ')
    assert 'F0001_SU04.obj' in text
    # The same scan through the inferencer: the same scores.
    row, = demo.inferencer([face_obj])
    assert [scores[c] for c in EXPRESSIONS_6] == pytest.approx(
        row['pred_scores'], abs=1e-6)
    # A synthetic face when nothing is uploaded.
    choice = demo.synthetic_choices()[3]
    assert 'happiness' in choice
    picture, scores, text = demo.classify(None, choice)
    assert picture and set(scores) == set(EXPRESSIONS_6)
    # A broken upload: the error, on the page.
    bad = tmp_path / 'broken.ply'
    bad.write_text('ply\nformat ascii 1.0\nelement vertex 3\n')
    picture, scores, text = demo.classify([str(bad)])
    assert picture is None and scores == {}
    assert text.startswith('**Error:**') and 'broken.ply' in text
    assert 'Upload a scan' in demo.classify(None, None)[2]


def _squeeze(text: str) -> str:
    return ''.join(text.split())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason='no Chromium/chromedriver on this machine (Debian: apt-get '
    'install chromium chromium-driver; .ci/run installs them)')
def test_page_in_headless_chromium(checkpoint, face_obj, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    demo = FERWebDemo(CONFIG, checkpoint, work_dir=str(tmp_path / 'work'))
    port = _free_port()
    page = demo.launch(port=port, prevent_thread_lock=True, quiet=True)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER),
                              options=options)
    try:
        driver.get(f'http://127.0.0.1:{port}/')
        wait = WebDriverWait(driver, 120)
        button = wait.until(ec.element_to_be_clickable(
            (By.ID, ELEMENT_IDS['button'])))
        assert 'mmfer4d' in driver.title
        assert 'Upload a face scan' in driver.find_element(
            By.TAG_NAME, 'body').text
        upload = driver.find_element(
            By.CSS_SELECTOR, f'#{ELEMENT_IDS["upload"]} input[type=file]')
        upload.send_keys(face_obj)
        try:
            # The file name may wrap ('F0001_SU04\n.obj'): compare without
            # white space.
            wait.until(lambda d: 'F0001_SU04.obj' in _squeeze(
                d.find_element(By.ID, ELEMENT_IDS['upload']).text))
        except Exception:
            body = driver.find_element(By.TAG_NAME, 'body').text
            logs = driver.get_log('browser')
            raise AssertionError(f'upload not shown; page: {body!r}; '
                                 f'console: {logs}')
        button.click()
        wait.until(lambda d: 'Prediction:' in d.find_element(
            By.ID, ELEMENT_IDS['result']).text)
        result = driver.find_element(By.ID, ELEMENT_IDS['result']).text
        scores = driver.find_element(By.ID, ELEMENT_IDS['scores']).text
        # What the page shows is what the demo computes for that file.
        expected = demo.classify([face_obj])[1]
        top = max(expected, key=expected.get)
        assert f'Prediction: {top}' in result
        assert 'F0001_SU04.obj' in _squeeze(result)
        for name in EXPRESSIONS_6:
            assert name in scores
        image = wait.until(lambda d: d.find_element(
            By.CSS_SELECTOR, f'#{ELEMENT_IDS["views"]} img'))
        assert image.get_attribute('src')
        wait.until(lambda d: d.execute_script(
            'return arguments[0].complete && '
            'arguments[0].naturalWidth > 0', image))
        shot = tmp_path / 'web_demo.png'
        driver.save_screenshot(str(shot))
        assert shot.read_bytes()[:4] == b'\x89PNG'
    finally:
        driver.quit()
        page.close()
