"""Install the example plugin the way pip would, without pip: a site folder holding its ``.dist-info``
(entry points from its own pyproject.toml). Used by the test set-up and by scripts/fuzz_corpus.py."""
from __future__ import annotations

import os
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

PLUGIN_SRC = Path(__file__).parent / "example"


def install_example_plugin(site: Path) -> str:
    """Write the plugin's metadata into ``site``; returns the path list (``os.pathsep``) that makes it importable."""
    meta = tomllib.loads((PLUGIN_SRC / "pyproject.toml").read_text())["project"]
    info = site / f"{meta['name'].replace('-', '_')}-{meta['version']}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {meta['name']}\nVersion: {meta['version']}\n")
    lines = []
    for group, eps in meta["entry-points"].items():
        lines.append(f"[{group}]")
        lines += [f"{name} = {target}" for name, target in eps.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    return os.pathsep.join([str(site), str(PLUGIN_SRC)])
