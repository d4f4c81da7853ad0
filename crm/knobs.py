"""Operational knobs of an app: a Django setting wins, then an environment variable, then the
app's default, converted to the default's type. The environment fallback lets a test start a
Celery worker with, say, a chunk delay, without a settings change."""

from __future__ import annotations

import os
from collections.abc import Mapping

from django.conf import settings


def read_knob(name: str, defaults: Mapping[str, float | int | str]) -> float | int | str:
    default = defaults[name]
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name)
    if value is None:
        return default
    return type(default)(value)
