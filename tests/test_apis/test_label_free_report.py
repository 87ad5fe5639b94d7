# Copyright (c) mmfer4d contributors. All rights reserved.
import os.path as osp

from mmengine.config import Config

from mmfer4d.apis import (NO_ZERO_SHOT, label_free_cell, label_free_lines,
                          zero_shot_is_meaningful)

ROOT = osp.join(osp.dirname(osp.abspath(__file__)), '..', '..')


def test_zero_shot_needs_labels_or_a_pretrained_text_tower():
    random_tower = dict(pretrained=None)
    assert zero_shot_is_meaningful(
        dict(text_source='label', text_encoder=random_tower))
    assert not zero_shot_is_meaningful(
        dict(text_source='pseudo', text_encoder=random_tower))
    assert not zero_shot_is_meaningful(
        dict(text_source='none', text_encoder=random_tower))
    assert zero_shot_is_meaningful(
        dict(text_source='pseudo', text_encoder=dict(pretrained='openai')))
    # A classifier has no prompts to judge.
    assert zero_shot_is_meaningful(dict(type='MultiViewClassifier'))


def test_shipped_self_supervised_config_has_no_zero_shot():
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', 'smile_vlm',
                 'smile-vlm-pseudo_resnet18-w16_scratch_1xb32-40e_'
                 'synthetic-fer3d-3view-96px.py'))
    assert not zero_shot_is_meaningful(cfg.model)
    hook = cfg.custom_hooks[0]
    assert hook['subject_norm'] and hook['match'] == 'auto'


def test_lines_and_cell():
    means = {'cluster/acc': 81.234, 'knn_sn/acc': 90.0, 'fer/top1': 17.0}
    assert label_free_lines(means) == [
        'clustering accuracy: 81.23 %',
        'k-NN accuracy across subjects, subject-centred: 90.00 %'
    ]
    assert label_free_cell(means) == \
        'cluster acc 81.2, k-NN (subj.-centred) 90.0'
    assert label_free_cell({'fer/top1': 50.0}) is None
    assert label_free_cell({'knn/acc': float('nan')}) is None


def test_demo_table_says_n_a_for_a_random_text_tower():
    from mmfer4d.apis import demo
    protocol = dict(dataset='SyntheticFER3D', subjects=100, folds=5,
                    folds_tested=[0], classes=6, intensities=[3, 4])
    record = dict(
        name='smile-vlm-pseudo', method='SMILE-VLM',
        supervision='none (pseudo-labels)', evaluation='zero-shot',
        folds={0: {}}, protocol=protocol, zero_shot_meaningful=False,
        aggregate={'fer/top1': dict(mean=16.7, std=0.0),
                   'cluster_sn/acc': dict(mean=85.0, std=0.0)})
    row = demo.leaderboard_rows({'smile-vlm-pseudo': record})[0]
    assert row['accuracy'] == NO_ZERO_SHOT
    assert 'cluster acc (subj.-centred) 85.0' in row['extra']
    record['zero_shot_meaningful'] = True
    row = demo.leaderboard_rows({'smile-vlm-pseudo': record})[0]
    assert row['accuracy'] == '16.70'
