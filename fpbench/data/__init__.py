"""Datasets: manifests (data_manifests/), preparation into aligned crops, and the dataset registry.

``load_dataset(name)`` returns a prepared ``FaceDataset``; plugins add datasets through the entry-point
group ``fpbench.datasets`` (a callable returning a ``FaceDataset``).
"""
from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any, Callable

from ..registry import Registry
from .adapters import ADAPTERS, load_user_dataset
from .dataset import FaceDataset, FaceRecord
from .manifest import Manifest, read_manifest
from .prepare import NotPrepared, load_prepared, prepare

DATASETS: Registry[Callable[..., FaceDataset]] = Registry("dataset", "fpbench.datasets")

#: The manifests that ship with fpbench (a symlink to the repository's data_manifests/).
MANIFEST_DIR = Path(__file__).resolve().parent / "manifests"


def shipped_manifest(name: str) -> Manifest:
    return read_manifest(MANIFEST_DIR / f"{name}.jsonl")


@DATASETS.register("mini", "Embedded default: 35 real faces from registry packages (prepare: fpbench data prepare mini)")
def mini() -> FaceDataset:
    return load_prepared(shipped_manifest("mini"))


@DATASETS.register("mini-1n-synthetic", "1:N identification from the mini faces, synthetic intra-class variation: "
                   "6 people x (10 inference + 5 test variants) + real extra photos, ~130 distractors (built on first use)")
def mini_1n_synthetic() -> FaceDataset:
    from .mini1n import load_mini_1n

    return load_mini_1n("default", name="mini-1n-synthetic")


@DATASETS.register("mini-1n-synthetic-all", "mini-1n-synthetic with all 11 mini source people protected")
def mini_1n_synthetic_all() -> FaceDataset:
    from .mini1n import load_mini_1n

    return load_mini_1n("all", name="mini-1n-synthetic-all")


for _name, (_, _description) in ADAPTERS.items():
    DATASETS.add(_name, partial(load_user_dataset, _name), f"{_description} (fpbench data manifest {_name} --root DIR)")


def load_dataset(name: str, **options: Any) -> FaceDataset:
    """The prepared dataset ``name``; ``UnknownName`` lists the registered ones."""
    return DATASETS.get(name)(**options)


__all__ = ["DATASETS", "FaceDataset", "FaceRecord", "Manifest", "NotPrepared", "load_dataset", "load_prepared",
           "prepare", "read_manifest", "shipped_manifest"]
