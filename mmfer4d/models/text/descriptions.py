# Copyright (c) mmfer4d contributors. All rights reserved.
"""Multilevel face descriptions: AU-level and emotion-level text.

MF² (Zheng et al., arXiv 2504.10351) aligns faces with the descriptions of
its MFA data set, written by GPT-4o at two levels: the Action Units (AU
level) and the emotion (emotion level). MFA is not public.
:class:`MultilevelDescriptionGenerator` stands in for it: it writes the
same two levels from a sample's labels, deterministically (a phrasing is
chosen by a seed and the sample's index, never by a global random state),
with several phrasings per level so that the text tower does not see one
fixed string per class. A user who has MFA-style text loads it with
:class:`ExternalDescriptions` instead.

- AU level: the active AUs by FACS number and name (Ekman, Friesen, Hager,
  *FACS: The Manual*, 2002), with the FACS intensity word (A trace,
  B slight, C marked, D severe, E maximum) where intensities exist, e.g.
  ``"AU6 cheek raiser (marked), AU12 lip corner puller (severe)"``;
  per region (:data:`~mmfer4d.models.utils.au_regions.AU_REGIONS`) only the
  AUs that region serves, or that it is at rest.
- Emotion level: the emotion and how the face shows it, from the EMFACS
  signs of the emotion (Ekman & Friesen, *Unmasking the Face*, 1975),
  e.g. ``"a happy face: the cheeks are raised and the lip corners pulled
  up"``.
"""
import json
import os.path as osp
from typing import Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

from ..utils.au_regions import AU_REGIONS

#: FACS names of the AUs (Ekman, Friesen, Hager 2002).
FACS_AU_NAMES: Dict[str, str] = {
    'AU1': 'inner brow raiser',
    'AU2': 'outer brow raiser',
    'AU4': 'brow lowerer',
    'AU5': 'upper lid raiser',
    'AU6': 'cheek raiser',
    'AU7': 'lid tightener',
    'AU9': 'nose wrinkler',
    'AU10': 'upper lip raiser',
    'AU11': 'nasolabial deepener',
    'AU12': 'lip corner puller',
    'AU13': 'sharp lip puller',
    'AU14': 'dimpler',
    'AU15': 'lip corner depressor',
    'AU16': 'lower lip depressor',
    'AU17': 'chin raiser',
    'AU18': 'lip pucker',
    'AU20': 'lip stretcher',
    'AU22': 'lip funneler',
    'AU23': 'lip tightener',
    'AU24': 'lip pressor',
    'AU25': 'lips part',
    'AU26': 'jaw drop',
    'AU27': 'mouth stretch',
    'AU28': 'lip suck',
    'AU43': 'eyes closed',
    'AU45': 'blink',
}

#: FACS intensity letters A-E as words, indexed by ``ceil(intensity) - 1``
#: for intensities on the 0-5 scale (0 absent).
INTENSITY_WORDS = ('trace', 'slight', 'marked', 'severe', 'maximum')

#: How each emotion shows on the face (EMFACS signs; Ekman & Friesen 1975).
EMOTION_SIGNS: Dict[str, str] = {
    'anger': 'the brows are lowered and drawn together, the eyes glare and '
    'the lips are pressed or tightened',
    'disgust': 'the nose is wrinkled and the upper lip raised',
    'fear': 'the brows are raised and drawn together, the upper lids '
    'raised and the lips stretched',
    'happiness': 'the cheeks are raised and the lip corners pulled up',
    'sadness': 'the inner brows are raised, the lip corners pulled down and '
    'the chin pushed up',
    'surprise': 'the brows are raised high, the eyes wide open and the jaw '
    'dropped',
    'contempt': 'one lip corner is tightened and raised',
    'neutral': 'the face is relaxed, with no muscle action',
    'positive': 'the lip corners are pulled up',
    'negative': 'the brows are lowered or the lip corners pulled down',
    'repression': 'the lips are pressed and the chin raised',
    'others': 'the face moves slightly',
}

#: Adjectives of the emotion names.
EMOTION_ADJECTIVES: Dict[str, str] = {
    'anger': 'angry', 'disgust': 'disgusted', 'fear': 'fearful',
    'happiness': 'happy', 'sadness': 'sad', 'surprise': 'surprised',
    'contempt': 'contemptuous', 'neutral': 'neutral',
}

# Phrasings; ``{aus}`` is the AU list, ``{adj}`` / ``{emotion}`` /
# ``{signs}`` the emotion, ``{region}`` a region name.
AU_TEMPLATES = (
    'a face showing {aus}.',
    'facial action units present: {aus}.',
    'the face activates {aus}.',
    'in this face: {aus}.',
)
NO_AU_TEMPLATES = (
    'a face with no action unit active.',
    'facial action units present: none.',
    'the face activates no action unit.',
    'in this face: no muscle action.',
)
REGION_TEMPLATES = (
    'the {region}: {aus}.',
    'around the {region}, {aus}.',
    'action units of the {region}: {aus}.',
)
REGION_REST_TEMPLATES = (
    'the {region}: at rest.',
    'around the {region}, no action.',
    'action units of the {region}: none.',
)
EMOTION_TEMPLATES = (
    'a {adj} face: {signs}.',
    'this face expresses {emotion}; {signs}.',
    'the expression of {emotion}, where {signs}.',
    'a photo of a {adj} face, in which {signs}.',
)


def intensity_word(intensity: float) -> str:
    """FACS intensity word of an intensity on the 0-5 scale (A-E = 1-5).

    Raises:
        ValueError: If ``intensity`` is not in (0, 5].
    """
    if not 0 < intensity <= 5 + 1e-6:
        raise ValueError(f'AU intensity {intensity} is outside (0, 5]')
    return INTENSITY_WORDS[min(int(np.ceil(intensity - 1e-6)), 5) - 1]


def describe_au(au: str, intensity: Optional[float] = None) -> str:
    """``'AU12 lip corner puller'``, with ``' (severe)'`` for an intensity.

    Raises:
        KeyError: For an AU without a FACS name in :data:`FACS_AU_NAMES`.
    """
    if au not in FACS_AU_NAMES:
        raise KeyError(f'no FACS name for {au!r}; known: '
                       f'{sorted(FACS_AU_NAMES)}')
    text = f'{au} {FACS_AU_NAMES[au]}'
    if intensity is not None:
        text += f' ({intensity_word(float(intensity))})'
    return text


def _join(parts: Sequence[str]) -> str:
    if len(parts) <= 1:
        return ''.join(parts)
    return ', '.join(parts[:-1]) + ' and ' + parts[-1]


class MultilevelDescriptionGenerator:
    """AU-level and emotion-level descriptions from a sample's labels.

    The stand-in for MF²'s GPT-4o-written MFA text (see the module
    docstring). Deterministic: the phrasing of a sample is template
    ``(seed + index) % num_templates`` (or ``phrasing`` when given), so
    the same arguments always give the same text.

    Args:
        au_names (Sequence[str]): AU names in label order (e.g.
            ``metainfo['au_names']``).
        classes (Sequence[str], optional): Emotion names in label order.
            Defaults to None (emotion text needs the name then).
        seed (int): Offset of the phrasing choice. Defaults to 0.
        with_intensity (bool): Add intensity words when intensities are
            given. Defaults to True.

    Raises:
        KeyError: If an AU in ``au_names`` has no FACS name.
    """

    def __init__(self,
                 au_names: Sequence[str],
                 classes: Optional[Sequence[str]] = None,
                 seed: int = 0,
                 with_intensity: bool = True):
        for au in au_names:
            describe_au(au)
        self.au_names = tuple(au_names)
        self.classes = None if classes is None else tuple(classes)
        self.seed = int(seed)
        self.with_intensity = with_intensity

    @property
    def num_au_phrasings(self) -> int:
        return len(AU_TEMPLATES)

    @property
    def num_emotion_phrasings(self) -> int:
        return len(EMOTION_TEMPLATES)

    def _pick(self, templates: Sequence[str], index: int,
              phrasing: Optional[int]) -> str:
        k = (self.seed + index) if phrasing is None else phrasing
        return templates[int(k) % len(templates)]

    def _active(self, au_labels, au_intensities,
                subset: Optional[Sequence[int]] = None) -> List[str]:
        labels = np.asarray(au_labels).reshape(-1)
        if labels.shape[0] != len(self.au_names):
            raise ValueError(f'{labels.shape[0]} AU labels for '
                             f'{len(self.au_names)} AU names')
        ints = None
        if au_intensities is not None and self.with_intensity:
            ints = np.asarray(au_intensities, np.float64).reshape(-1)
            if ints.shape != labels.shape:
                raise ValueError(f'{ints.shape[0]} AU intensities for '
                                 f'{labels.shape[0]} AU labels')
        idx = range(len(self.au_names)) if subset is None else subset
        parts = []
        for i in idx:
            if labels[i] > 0:
                level = None
                if ints is not None and ints[i] > 0:
                    level = float(min(ints[i], 5.0))
                parts.append(describe_au(self.au_names[i], level))
        return parts

    def au_text(self,
                au_labels,
                au_intensities=None,
                index: int = 0,
                phrasing: Optional[int] = None) -> str:
        """AU-level description of a whole face.

        Args:
            au_labels: ``(A,)`` occurrence, > 0 active (negative: unknown,
                left out).
            au_intensities: ``(A,)`` on the 0-5 scale, optional.
            index (int): The sample's index (chooses the phrasing).
            phrasing (int, optional): Template index, overriding ``index``.

        Raises:
            ValueError: If the vectors' lengths differ from ``au_names``.
        """
        parts = self._active(au_labels, au_intensities)
        if not parts:
            return self._pick(NO_AU_TEMPLATES, index, phrasing)
        return self._pick(AU_TEMPLATES, index, phrasing).format(
            aus=_join(parts))

    def region_text(self,
                    region: str,
                    au_labels,
                    au_intensities=None,
                    index: int = 0,
                    phrasing: Optional[int] = None) -> str:
        """AU-level description of one region: its active AUs only.

        Raises:
            KeyError: For a region not in ``AU_REGIONS``.
        """
        if region not in AU_REGIONS:
            raise KeyError(f'unknown AU region {region!r}; known: '
                           f'{tuple(AU_REGIONS)}')
        served = set(AU_REGIONS[region])
        subset = [i for i, n in enumerate(self.au_names) if n in served]
        parts = self._active(au_labels, au_intensities, subset)
        name = region.replace('_', ' ')
        if not parts:
            return self._pick(REGION_REST_TEMPLATES, index,
                              phrasing).format(region=name)
        return self._pick(REGION_TEMPLATES, index, phrasing).format(
            region=name, aus=_join(parts))

    def emotion_text(self,
                     emotion: Union[int, str],
                     index: int = 0,
                     phrasing: Optional[int] = None) -> str:
        """Emotion-level description: the emotion and how the face shows
        it.

        Args:
            emotion (int | str): Class index (needs ``classes``) or name.

        Raises:
            ValueError: For an index without ``classes``.
            KeyError: For an emotion without signs in
                :data:`EMOTION_SIGNS`.
        """
        if not isinstance(emotion, str):
            if self.classes is None:
                raise ValueError('emotion_text got a class index but the '
                                 'generator has no `classes`')
            emotion = self.classes[int(emotion)]
        if emotion not in EMOTION_SIGNS:
            raise KeyError(f'no description of the emotion {emotion!r}; '
                           f'known: {sorted(EMOTION_SIGNS)}')
        return self._pick(EMOTION_TEMPLATES, index, phrasing).format(
            adj=EMOTION_ADJECTIVES.get(emotion, emotion),
            emotion=emotion,
            signs=EMOTION_SIGNS[emotion])

    def __call__(self, sample: Mapping, index: int = 0) -> Dict[str, str]:
        """Both levels of a data info or results dict.

        Reads ``au_labels`` (and ``au_intensities``) and ``expression`` or
        ``gt_label``. Returns ``dict(au_text=..., emotion_text=...)``, each
        None when its labels are missing.
        """
        out = dict(au_text=None, emotion_text=None)
        if sample.get('au_labels') is not None:
            out['au_text'] = self.au_text(sample['au_labels'],
                                          sample.get('au_intensities'),
                                          index)
        emotion = sample.get('expression', sample.get('gt_label'))
        if emotion is not None:
            out['emotion_text'] = self.emotion_text(emotion, index)
        return out


class ExternalDescriptions:
    """Descriptions written elsewhere (e.g. MFA's GPT-4o text), by sample.

    Reads a JSON file (a list of records, or a mapping key -> record) or a
    JSON Lines file (one record per line; ``#`` comments and blank lines
    skipped). A record is an object with ``key`` (or ``id`` or ``path``) and
    any of ``au_text`` and ``emotion_text`` (strings), and optionally
    ``region_texts`` (region -> string). Samples are looked up by their
    ``mesh_path``/``img_path`` (the full path or any tail of it, so keys
    relative to a data root and bare file names match) or ``sample_id`` /
    ``sample_idx``.

    Args:
        path (str): The .json or .jsonl file.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: For malformed JSON (file and line), a record without a
            key or text, a text that is not a string, or a key given twice.
    """

    KEYS = ('key', 'id', 'path')
    TEXTS = ('au_text', 'emotion_text')

    def __init__(self, path: str):
        if not osp.isfile(path):
            raise FileNotFoundError(f'descriptions file {path} not found')
        self.path = path
        self.records: Dict[str, dict] = {}
        with open(path, encoding='utf-8') as f:
            text = f.read()
        if path.endswith('.jsonl'):
            for line_no, line in enumerate(text.splitlines(), 1):
                line = line.strip()
                if not line or line.startswith('#'):
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as e:
                    raise ValueError(f'{path}:{line_no}: not JSON ({e.msg})')
                self._add(rec, f'{path}:{line_no}')
        else:
            try:
                data = json.loads(text)
            except json.JSONDecodeError as e:
                raise ValueError(f'{path}: not JSON ({e.msg} at line '
                                 f'{e.lineno})')
            if isinstance(data, dict):
                data = [dict(rec, key=k) if isinstance(rec, dict) else rec
                        for k, rec in data.items()]
            if not isinstance(data, list):
                raise ValueError(f'{path}: expected a list of records or a '
                                 'mapping key -> record')
            for i, rec in enumerate(data):
                self._add(rec, f'{path}: record {i}')
        if not self.records:
            raise ValueError(f'{path}: no description records')

    def _add(self, rec, where: str) -> None:
        if not isinstance(rec, dict):
            raise ValueError(f'{where}: a record must be an object, got '
                             f'{type(rec).__name__}')
        key = next((rec[k] for k in self.KEYS if k in rec), None)
        if not isinstance(key, (str, int)) or key == '':
            raise ValueError(f'{where}: record has no key (one of '
                             f'{self.KEYS})')
        texts = {k: rec[k] for k in self.TEXTS if k in rec}
        if not texts:
            raise ValueError(f'{where}: record {key!r} has neither '
                             f'{self.TEXTS[0]} nor {self.TEXTS[1]}')
        for k, v in texts.items():
            if not isinstance(v, str) or not v.strip():
                raise ValueError(f'{where}: {k} of {key!r} must be a '
                                 'non-empty string')
        regions = rec.get('region_texts')
        if regions is not None:
            if not isinstance(regions, dict) or not all(
                    isinstance(v, str) for v in regions.values()):
                raise ValueError(f'{where}: region_texts of {key!r} must '
                                 'map region names to strings')
            bad = set(regions) - set(AU_REGIONS)
            if bad:
                raise ValueError(f'{where}: unknown regions {sorted(bad)} '
                                 f'(known: {tuple(AU_REGIONS)})')
            texts['region_texts'] = dict(regions)
        key = str(key)
        if key in self.records:
            raise ValueError(f'{where}: key {key!r} given twice')
        self.records[key] = texts

    def __len__(self) -> int:
        return len(self.records)

    def __contains__(self, key) -> bool:
        return str(key) in self.records

    def lookup(self, sample: Mapping) -> dict:
        """The record of a sample (its path, its file name, or its id).

        Raises:
            KeyError: If no record matches, naming the keys tried.
        """
        tried = []
        for field in ('mesh_path', 'img_path', 'sample_id', 'sample_idx'):
            value = sample.get(field)
            if value is None:
                continue
            value = str(value).replace('\\', '/')
            parts = value.split('/')
            # The path itself, then every shorter tail (relative to any
            # data root), down to the file name.
            for key in ['/'.join(parts[i:]) for i in range(len(parts))]:
                if key in self.records:
                    return self.records[key]
                tried.append(key)
        if not tried:
            raise KeyError(f'{self.path}: the sample has no mesh_path, '
                           'img_path, sample_id or sample_idx to look up')
        raise KeyError(f'{self.path}: no description for the sample (tried '
                       f'{tried})')
