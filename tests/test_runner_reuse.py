"""Scoring reads each chunk of protected images once for all targets and transforms, with unchanged scores."""
from __future__ import annotations

import pandas as pd

from fpbench.data import load_dataset
from fpbench.protocols.verify import make_pairs
from fpbench.pipeline.work import chunks
from fpbench.runner import Runner
from fpbench.spec import RunSpec
from fpbench.stores import ImageStore

SPEC = RunSpec(method="pgd", surrogates=("toy-fr-a",), params={"eps": 8 / 255, "steps": 2}, dataset="toy-faces",
               targets=("toy-fr-a", "toy-fr-b"), transforms=("identity", "jpeg50", "gauss0.01"), quality=False,
               batch_size=4)


def test_each_chunk_is_read_once_and_rows_match_one_target_runs(fresh_cache, monkeypatch):
    reads = []
    original = ImageStore.get
    monkeypatch.setattr(ImageStore, "get", lambda self, keys: reads.append(len(keys)) or original(self, keys))
    both = Runner(SPEC, None, progress=False).execute().scores
    pairs = make_pairs(load_dataset("toy-faces"), "impersonate")
    assert reads == [len(c) for c in chunks(pairs, SPEC.batch_size, lambda p: p.target.id)]
    alone = [Runner(SPEC.with_(targets=(t,)), None, progress=False).execute().scores for t in SPEC.targets]
    assert both.equals(pd.concat(alone, ignore_index=True))
