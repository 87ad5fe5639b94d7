# Copyright (c) mmfer4d contributors. All rights reserved.
"""Class names for pictures drawn from a predictions file.

``tools/test.py --out preds.pkl`` writes one dict per data sample. Ours
carry the class of their ground truth by name (``expression``), so the
names of the classes present can be read back from the file itself;
a config's data set (its ``metainfo['classes']``) names the rest.
"""
from typing import Dict, List, Optional, Sequence

from mmfer4d.evaluation.metrics.utils import to_label

#: Per-sample keys that name the ground-truth class, in order of preference.
CLASS_NAME_KEYS = ('expression', 'gt_class')


def names_in_samples(samples: Sequence[dict]) -> Dict[int, str]:
    """``label -> name`` read from predicted data samples.

    A sample's ``classes`` metainfo (all names, in label order) is used
    when present; otherwise each sample's ``gt_label`` with its
    ``expression`` (or ``gt_class``) name.

    Args:
        samples (Sequence[dict]): Data samples as ``tools/test.py --out``
            writes them.

    Returns:
        dict[int, str]: The names found (possibly none).

    Raises:
        ValueError: If the samples give one label two different names.
    """
    found: Dict[int, str] = {}
    for i, sample in enumerate(samples):
        if sample.get('classes'):
            return {k: str(n) for k, n in enumerate(sample['classes'])}
        name = next((sample[k] for k in CLASS_NAME_KEYS
                     if sample.get(k) is not None), None)
        if name is None or sample.get('gt_label') is None:
            continue
        label = to_label(sample['gt_label'])
        if found.setdefault(label, str(name)) != str(name):
            raise ValueError(f'sample {i} names label {label} {name!r}, '
                             f'an earlier one {found[label]!r}')
    return found


def classes_from_config(config: str,
                        cfg_options: Optional[dict] = None) -> List[str]:
    """The class names of a config's test (else val, else train) data set.

    Args:
        config (str): Config file.
        cfg_options (dict, optional): Overrides merged into it.

    Returns:
        list[str]: ``metainfo['classes']`` of the data set, built lazily
        (no sample is loaded).

    Raises:
        ValueError: If the config has no data set or it names no classes.
    """
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from mmfer4d.registry import DATASETS
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    for name in ('test_dataloader', 'val_dataloader', 'train_dataloader'):
        if cfg.get(name):
            ds_cfg = dict(cfg[name]['dataset'], lazy_init=True)
            with DefaultScope.overwrite_default_scope(
                    cfg.get('default_scope', 'mmfer4d')):
                classes = DATASETS.build(ds_cfg).metainfo.get('classes')
            if not classes:
                raise ValueError(f'{config}: the {name} data set names no '
                                 'classes')
            return [str(c) for c in classes]
    raise ValueError(f'{config}: no data loader to read classes from')


def resolve_class_names(num_classes: int,
                        samples: Sequence[dict] = (),
                        classes: Optional[Sequence[str]] = None,
                        fallback: Optional[Sequence[str]] = None
                        ) -> List[str]:
    """Names for classes ``0 .. num_classes - 1``.

    Args:
        num_classes (int): K.
        samples (Sequence[dict]): Predicted data samples
            (:func:`names_in_samples`). Defaults to none.
        classes (Sequence[str], optional): Names given by the user; they
            win. Defaults to None.
        fallback (Sequence[str], optional): Names for what the samples do
            not name (e.g. :func:`classes_from_config`). Defaults to None.

    Returns:
        list[str]: K names; a class nothing names keeps its index.

    Raises:
        ValueError: If ``classes`` or ``fallback`` has fewer than K names,
            or the samples disagree with ``fallback``.
    """
    for what, names in (('classes', classes), ('fallback', fallback)):
        if names is not None and len(names) < num_classes:
            raise ValueError(f'{len(names)} {what} names for '
                             f'{num_classes} classes: {list(names)}')
    if classes is not None:
        return [str(n) for n in classes[:num_classes]]
    found = names_in_samples(samples)
    if fallback is not None:
        clash = {k: (n, fallback[k]) for k, n in found.items()
                 if k < num_classes and n != fallback[k]}
        if clash:
            raise ValueError('the predictions and the config name classes '
                             f'differently (label: (file, config)): {clash}')
        return [str(n) for n in fallback[:num_classes]]
    return [found.get(k, str(k)) for k in range(num_classes)]
