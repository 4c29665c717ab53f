"""fpbench as a user installs it: a wheel built from the source, installed outside the repository, still has
its package data (the published baselines) and shows them with `fpbench table --baseline`."""
from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from fpbench.cli.main import main
from fpbench.data import shipped_manifest
from fpbench.results import RunResult

REPO = Path(__file__).resolve().parents[1]
#: what a wheel is built from (the rest of the repository is not packaged)
SOURCES = ["pyproject.toml", "README.md", "fpbench", "data_manifests"]


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    out = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=50)
    assert out.returncode == 0, out.stderr
    return out


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """fpbench built into a wheel offline (from a copy of the sources, so the checkout stays clean) and
    installed into a plain folder with no dependencies: the folder to put on PYTHONPATH."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, src / name)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    pip = ["-m", "pip", "--disable-pip-version-check", "-q"]
    run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(tmp / "dist"), str(src)], tmp, env)
    (wheel,) = (tmp / "dist").glob("fpbench-*.whl")
    run([*pip, "install", "--no-deps", "--no-index", "--target", str(tmp / "site"), str(wheel)], tmp, env)
    return tmp / "site"


def fake_run(run_dir: Path) -> Path:
    """A finished run on the paper's ArcFace column, saved the way `fpbench run` saves one."""
    scores = pd.DataFrame([{"pair": f"p{i}", "source": f"s{i}", "target_face": "t", "target": "arcface[mobilefacenet]",
                            "transform": "identity", "kind": "impersonation", "similarity": 0.5, "threshold": 0.3,
                            "success": i % 2 == 0} for i in range(4)])
    card = {"method": {"method": "pgd"}, "spec": {"goal": "impersonate"}, "reversible": False}
    return RunResult(card=card, scores=scores).save(run_dir)


@pytest.mark.packaging
def test_installed_wheel_shows_published_baselines(installed, tmp_path, capsys):
    runs = fake_run(tmp_path / "runs" / "pgd").parent
    args = ["table", str(runs), "--format", "csv", "--baseline", "erasablemask:II"]
    outside = tmp_path / "elsewhere"  # not the repository: nothing is found through the working directory
    outside.mkdir()
    env = {**os.environ, "PYTHONPATH": str(installed), "FPBENCH_CACHE": str(tmp_path / "cache")}

    where = run(["-c", "import fpbench.results.baselines as b; print(b.__file__)"], outside, env).stdout.strip()
    assert Path(where).is_relative_to(installed), f"the test ran fpbench from {where}, not the installed wheel"
    table = run(["-m", "fpbench.cli.main", *args], outside, env).stdout

    assert main(args) == 0  # the same table from the source tree
    assert table == capsys.readouterr().out
    labels = [row[0] for row in csv.reader(io.StringIO(table))]
    assert labels[:2] == ["method", "pgd"] and "PGD (published, CelebA-HQ)" in labels  # a block after the runs
    assert {"ErasableMask (published, FFHQ)", "Clean (published, CelebA-HQ)"} <= set(labels)


@pytest.mark.packaging
def test_installed_wheel_has_the_shipped_mini_manifest(installed, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(installed), "FPBENCH_CACHE": str(tmp_path / "cache")}
    code = "from fpbench.data import shipped_manifest as m; print(m('mini').path, m('mini').sha256)"
    path, sha = run(["-c", code], tmp_path, env).stdout.split()
    assert Path(path).is_relative_to(installed) and sha == shipped_manifest("mini").sha256
