"""The test suite cleans up after itself: the example plugin's site folder (made by conftest.py in the temp
folder) is gone when a session ends; it used to stay behind, one per run."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_a_session_leaves_no_plugin_site_behind(tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--collect-only",
                          str(TESTS / "test_imports.py")], cwd=TESTS.parent, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "test_imports.py" in out.stdout
    assert not list(tmp_path.glob("fpbench-plugin-site-*"))
