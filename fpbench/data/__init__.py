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


for _name, (_, _description) in ADAPTERS.items():
    DATASETS.add(_name, partial(load_user_dataset, _name), f"{_description} (fpbench data manifest {_name} --root DIR)")


def load_dataset(name: str, **options: Any) -> FaceDataset:
    """The prepared dataset ``name``; ``UnknownName`` lists the registered ones."""
    return DATASETS.get(name)(**options)


__all__ = ["DATASETS", "FaceDataset", "FaceRecord", "Manifest", "NotPrepared", "load_dataset", "load_prepared",
           "prepare", "read_manifest", "shipped_manifest"]
