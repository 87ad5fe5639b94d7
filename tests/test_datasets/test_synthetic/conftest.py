# Copyright (c) mmfer4d contributors. All rights reserved.
import pytest

from mmfer4d.datasets.synthetic import load_face_model


@pytest.fixture(scope='session')
def face_model():
    """The packed ICT-FaceKit model; the tests skip where it is absent."""
    try:
        return load_face_model()
    except FileNotFoundError as err:
        pytest.skip(f'ICT-FaceKit npz not available: {err}')
