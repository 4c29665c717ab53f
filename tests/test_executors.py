"""The process executor gives each worker its share of the threads, also for what the worker runs; a
person-scope method asked to run where there are no inference photos says so in one line."""
from __future__ import annotations

import pytest

import fpbench.protocols  # noqa: F401  registers the built-in protocols
from fpbench.data.dataset import FaceDataset
from fpbench.errors import BadInput
from fpbench.pipeline.executors import Unit, make_executor
from fpbench.protocols.base import PROTOCOLS
from fpbench.threads import default_threads


def test_process_workers_run_with_their_share_of_the_threads():
    # a Runner in the worker asks default_threads(): 2 workers x 2 threads would oversubscribe 2 cores
    units = [Unit(f"u{k}", f"u{k}", default_threads) for k in range(2)]
    assert make_executor("process", 2, 2).run(units) == [1, 1]


def test_a_person_scope_method_on_verify_is_a_one_line_error():
    with pytest.raises(BadInput, match="--protocol identify"):
        PROTOCOLS.get("verify")().inference_photos(FaceDataset("empty", "0", []), "someone")
