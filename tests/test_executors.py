"""The process executor gives each worker its share of the threads, also for what the worker runs."""
from __future__ import annotations

from fpbench.pipeline.executors import Unit, make_executor
from fpbench.threads import default_threads


def test_process_workers_run_with_their_share_of_the_threads():
    # a Runner in the worker asks default_threads(): 2 workers x 2 threads would oversubscribe 2 cores
    units = [Unit(f"u{k}", f"u{k}", default_threads) for k in range(2)]
    assert make_executor("process", 2, 2).run(units) == [1, 1]
