# Copyright (c) mmfer4d contributors. All rights reserved.
import json

import numpy as np
import pytest

from mmfer4d.models.text import (FACS_AU_NAMES, ExternalDescriptions,
                                 MultilevelDescriptionGenerator, describe_au,
                                 intensity_word)
from mmfer4d.models.text.descriptions import AU_TEMPLATES, EMOTION_TEMPLATES
from mmfer4d.models.utils import AU_REGIONS
from mmfer4d.synthesis import AU_NAMES

BP4D_AUS = ('AU1', 'AU2', 'AU4', 'AU6', 'AU7', 'AU10', 'AU12', 'AU14',
            'AU15', 'AU17', 'AU23', 'AU24')


def test_every_known_au_set_has_facs_names():
    for au in (*AU_NAMES, *BP4D_AUS, 'AU9', 'AU25', 'AU26'):
        assert au in FACS_AU_NAMES
    # Every AU is served by a region.
    served = {au for aus in AU_REGIONS.values() for au in aus}
    assert set(AU_NAMES) <= served
    assert set(BP4D_AUS) <= served


def test_intensity_words_follow_facs_letters():
    # A-E = 1-5: (0, 1] trace, (1, 2] slight, ... (4, 5] maximum.
    assert intensity_word(0.5) == 'trace'
    assert intensity_word(1.0) == 'trace'
    assert intensity_word(2.0) == 'slight'
    assert intensity_word(3.2) == 'severe'
    assert intensity_word(5.0) == 'maximum'
    with pytest.raises(ValueError, match='outside'):
        intensity_word(0.0)
    with pytest.raises(ValueError, match='outside'):
        intensity_word(6.0)
    assert describe_au('AU12', 4.5) == 'AU12 lip corner puller (maximum)'
    with pytest.raises(KeyError, match='AU99'):
        describe_au('AU99')


def _happy():
    labels = np.zeros(len(AU_NAMES), np.int8)
    ints = np.zeros(len(AU_NAMES), np.float32)
    for au, v in (('AU6', 2.5), ('AU12', 3.5)):
        labels[AU_NAMES.index(au)] = 1
        ints[AU_NAMES.index(au)] = v
    return labels, ints


def test_au_text_lists_active_aus_with_intensity():
    gen = MultilevelDescriptionGenerator(AU_NAMES)
    labels, ints = _happy()
    text = gen.au_text(labels, ints, phrasing=0)
    assert text == ('a face showing AU6 cheek raiser (marked) and AU12 lip '
                    'corner puller (severe).')
    # Without intensities, no intensity words.
    assert '(' not in gen.au_text(labels)
    assert 'AU4' not in text
    # No active AU.
    assert 'no action unit' in gen.au_text(np.zeros(len(AU_NAMES)),
                                           phrasing=0)
    with pytest.raises(ValueError, match='AU labels'):
        gen.au_text(np.zeros(3))


def test_region_text_only_the_region_aus():
    gen = MultilevelDescriptionGenerator(AU_NAMES)
    labels, ints = _happy()
    assert gen.region_text('mouth_corners', labels, ints, phrasing=0) == \
        'the mouth corners: AU12 lip corner puller (severe).'
    brows = gen.region_text('brows', labels, ints, phrasing=0)
    assert brows == 'the brows: at rest.'
    with pytest.raises(KeyError, match='forehead'):
        gen.region_text('forehead', labels)


def test_phrasings_deterministic_and_several():
    gen = MultilevelDescriptionGenerator(AU_NAMES, ('anger', 'happiness'),
                                         seed=3)
    labels, ints = _happy()
    texts = {gen.au_text(labels, ints, index=i) for i in range(10)}
    assert len(texts) == len(AU_TEMPLATES)
    same = MultilevelDescriptionGenerator(AU_NAMES, ('anger', 'happiness'),
                                          seed=3)
    assert [gen.emotion_text(1, i) for i in range(5)] == \
        [same.emotion_text('happiness', i) for i in range(5)]
    emo = {gen.emotion_text(1, i) for i in range(10)}
    assert len(emo) == len(EMOTION_TEMPLATES)
    assert all('lip corners pulled up' in t for t in emo)
    assert 'angry' in gen.emotion_text(0, phrasing=0)
    with pytest.raises(KeyError, match='boredom'):
        gen.emotion_text('boredom')
    with pytest.raises(ValueError, match='classes'):
        MultilevelDescriptionGenerator(AU_NAMES).emotion_text(0)


def test_call_on_a_synthetic_data_info():
    from mmfer4d.datasets import SyntheticFER3D
    ds = SyntheticFER3D(num_subjects=2, num_folds=2, split='train')
    info = ds.get_data_info(0)
    gen = MultilevelDescriptionGenerator(ds.metainfo['au_names'],
                                         ds.metainfo['classes'])
    out = gen(info, index=0)
    assert info['expression'] in out['emotion_text'] or \
        gen.emotion_text(info['expression'], 0) == out['emotion_text']
    active = [n for n, v in zip(AU_NAMES, info['au_labels']) if v]
    for au in active:
        assert au + ' ' in out['au_text']


def test_external_jsonl_and_json(tmp_path):
    jl = tmp_path / 'mfa.jsonl'
    jl.write_text('# MFA-style descriptions\n'
                  '{"path": "F0001/F0001_HA04WH_F3D.wrl", '
                  '"au_text": "cheeks raised", "emotion_text": "happy"}\n'
                  '\n'
                  '{"id": 7, "emotion_text": "sad", '
                  '"region_texts": {"brows": "inner brows up"}}\n')
    ext = ExternalDescriptions(str(jl))
    assert len(ext) == 2
    rec = ext.lookup(
        dict(mesh_path='/data/BU-3DFE/F0001/F0001_HA04WH_F3D.wrl'))
    assert rec['au_text'] == 'cheeks raised'
    assert ext.lookup(dict(sample_id=7))['region_texts'] == dict(
        brows='inner brows up')
    with pytest.raises(KeyError, match='no description'):
        ext.lookup(dict(img_path='x.jpg'))
    with pytest.raises(KeyError, match='no mesh_path'):
        ext.lookup(dict())
    js = tmp_path / 'mfa.json'
    js.write_text(json.dumps({'a.obj': {'au_text': 'AU1'}}))
    assert ExternalDescriptions(str(js)).lookup(
        dict(mesh_path='/x/a.obj'))['au_text'] == 'AU1'


@pytest.mark.parametrize('content,match', [
    ('{"path": "a", "au_text": "x"}\n{"path": "a"', 'mfa.jsonl:2: not JSON'),
    ('{"au_text": "x"}', 'no key'),
    ('{"path": "a"}', 'neither au_text'),
    ('{"path": "a", "au_text": 3}', 'non-empty string'),
    ('{"path": "a", "au_text": "x"}\n{"path": "a", "au_text": "y"}',
     'given twice'),
    ('{"path": "a", "au_text": "x", "region_texts": {"ear": "y"}}',
     'unknown regions'),
    ('[1, 2]', 'must be an object'),
    ('', 'no description records'),
])
def test_external_bad_files(tmp_path, content, match):
    p = tmp_path / 'mfa.jsonl'
    p.write_text(content)
    with pytest.raises(ValueError, match=match):
        ExternalDescriptions(str(p))


def test_external_missing_and_bad_json(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.json'):
        ExternalDescriptions(str(tmp_path / 'nope.json'))
    p = tmp_path / 'd.json'
    p.write_text('{"a": ')
    with pytest.raises(ValueError, match='d.json: not JSON'):
        ExternalDescriptions(str(p))
