"""Headless Chromium for the tests that look at fpbench's HTML pages as a browser renders them."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium here (apt-get install chromium) to open the page")


def rendered_dom(page: str, on_load_js: str, tmp_path: Path) -> str:
    """The DOM of ``page`` after load, with ``on_load_js`` run on the window's load event (a probe that writes
    what it finds into attributes of the body)."""
    probe = f"<script>window.addEventListener('load',function(){{{on_load_js}}})</script>"
    copy = tmp_path / "probe.html"
    copy.write_text(page.replace("</body>", probe + "</body>"))
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000",
                           "--dump-dom", copy.as_uri()], capture_output=True, text=True, timeout=120).stdout
