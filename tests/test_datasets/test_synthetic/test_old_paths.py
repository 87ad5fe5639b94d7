# Copyright (c) mmfer4d contributors. All rights reserved.
import pytest

import mmfer4d.datasets.synthetic as old
import mmfer4d.structures as structures
import mmfer4d.synthesis as engine


def test_moved_names_still_import_with_a_warning():
    for name in ('synthesize', 'load_face_model', 'AU_NAMES'):
        with pytest.warns(DeprecationWarning, match=f'synthesis.{name}'):
            assert getattr(old, name) is getattr(engine, name)
    with pytest.warns(DeprecationWarning, match='structures.rotation_matrix'):
        assert old.rotation_matrix is structures.rotation_matrix
    with pytest.raises(AttributeError, match='no_such_name'):
        old.no_such_name
    # Star imports give the data sets only.
    assert old.__all__ == ['SyntheticFER3D', 'SyntheticFER4D',
                           'SyntheticMER4D']
