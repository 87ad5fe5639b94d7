# Copyright (c) mmfer4d contributors. All rights reserved.
import pytest

from mmfer4d.synthesis import load_face_model


@pytest.fixture(scope='session')
def face_model():
    """The ICT-FaceKit model shipped with the package."""
    return load_face_model()
