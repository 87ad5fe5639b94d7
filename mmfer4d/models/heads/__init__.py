# Copyright (c) mmfer4d contributors. All rights reserved.

__all__ = []
