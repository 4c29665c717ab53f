"""What a test does when something it needs cannot be had here (a registry package, the shared folder):
skip on a developer's machine, fail under CI (``CI=true``), where everything must be reachable."""
from __future__ import annotations

import os
from typing import NoReturn

import pytest


def under_ci() -> bool:
    return os.environ.get("CI") == "true"


def unavailable(reason: str) -> NoReturn:
    """Skip the test with ``reason``, or fail it with ``reason`` under CI so a missing fetch is never silent."""
    if under_ci():
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)
