"""The part of a dataset a method may learn from."""
from __future__ import annotations

from dataclasses import replace

from ..data.dataset import FaceDataset
from ..errors import BadInput


def training_split(dataset: FaceDataset) -> FaceDataset:
    """``dataset`` with only its split "train" records (same name and manifest hash, which pin the whole
    manifest); a BadInput when it has none."""
    records = dataset.select(split="train")
    if not records:
        raise BadInput(f"dataset {dataset.name!r} has no records in split 'train' to train on; its manifest must "
                       "mark some faces split=train")
    return replace(dataset, records=records)
