"""The ``ray`` executor on a local Ray started by this module (2 CPUs, no dashboard, no usage statistics):
a sweep gives the serial executor's tables, a failed task is retried, a user error is not, and a finished
cell is never computed again."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import PLUGIN_PATH
from fpbench.cli.main import main
from fpbench.errors import BadInput
from fpbench.pipeline.executors import Unit, make_executor
from fpbench.sweep import load_sweep, run_sweep

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'fpbench[ray]')")

GRID = ("name: grid\ndataset: toy-faces\ntargets: [toy-fr-a, toy-fr-b]\ntransforms: [identity]\n"
        "surrogates: [toy-fr-a]\nquality: false\nseeds: [0]\n"
        "methods:\n  - none\n  - {method: fgsm, params: {eps: 8/255}}\n  - {method: pgd, params: {eps: 4/255, steps: 3}}\n")


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray whose workers see the example plugin (they inherit this environment)."""
    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "RAY_USAGE_STATS_ENABLED")}
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [PLUGIN_PATH, saved["PYTHONPATH"]]))
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    except Exception as e:  # noqa: BLE001 - any failure to start is a reason to skip, named in the message
        pytest.skip(f"a local Ray cannot start on this machine: {type(e).__name__}: {e}")
    yield
    ray.shutdown()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def table(out: Path, capsys) -> str:
    assert main(["table", str(out), "--format", "csv", "--ci"]) == 0
    return capsys.readouterr().out


def test_a_ray_sweep_gives_the_serial_tables_and_skips_finished_cells(local_ray, tmp_path, monkeypatch, capsys):
    spec = tmp_path / "grid.yaml"
    spec.write_text(GRID)
    tables = []
    for name in ("serial", "ray"):
        monkeypatch.setenv("FPBENCH_CACHE", str(tmp_path / f"cache-{name}"))
        sweep = load_sweep(spec, out=tmp_path / f"runs-{name}")
        statuses = [status for _, status in run_sweep(sweep, progress=False, executor=make_executor(name, 1, 2))]
        assert statuses == ["done"] * 3
        tables.append(table(sweep.out, capsys))
    assert tables[0] == tables[1] and len([r for r in tables[0].strip().splitlines() if r[0] != "#"]) == 4
    cards = sorted(p.stat().st_mtime_ns for p in (tmp_path / "runs-ray").glob("*/card.json"))
    again = [status for _, status in run_sweep(load_sweep(spec, out=tmp_path / "runs-ray"), progress=False,
                                               executor=make_executor("ray", 1, 2))]
    assert again == ["skipped"] * 3
    assert sorted(p.stat().st_mtime_ns for p in (tmp_path / "runs-ray").glob("*/card.json")) == cards


def test_a_failed_task_is_retried(local_ray, fresh_cache, tmp_path):
    marker = tmp_path / "failed-once"

    def flaky() -> str:
        if not marker.exists():
            marker.touch()
            raise RuntimeError("a worker hiccup")
        return "done"

    assert make_executor("ray", 1, 1).run([Unit("flaky", "flaky", flaky)]) == ["done"]
    assert marker.exists()


def test_a_user_error_is_raised_once_not_retried(local_ray, fresh_cache, tmp_path):
    tries = tmp_path / "tries"
    tries.mkdir()

    def wrong() -> None:
        (tries / str(len(list(tries.iterdir())))).touch()
        raise BadInput("cell 1: unknown target 'nope'")

    with pytest.raises(BadInput, match="unknown target 'nope'"):
        make_executor("ray", 1, 1).run([Unit("wrong", "wrong", wrong)])
    assert len(list(tries.iterdir())) == 1


def test_results_come_back_in_order_with_the_cache_and_threads_of_the_driver(local_ray, fresh_cache):
    def where(k: int) -> tuple[int, str, str]:
        return k, os.environ["FPBENCH_CACHE"], os.environ["FPBENCH_THREADS"]

    units = [Unit(f"u{k}", f"u{k}", where, (k,)) for k in range(4)]
    assert make_executor("ray", 2, 2).run(units) == [(k, str(fresh_cache), "1") for k in range(4)]


def test_address_is_only_for_ray():
    with pytest.raises(BadInput, match="--address is for --executor ray"):
        make_executor("process", 2, 2, address="auto")
