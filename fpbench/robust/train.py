"""``fpbench zoo robustify NAME``: adversarially fine-tune zoo model NAME into the tag ``NAME.at-eps4`` (eps in
the tag; ``NAME.trades-eps4`` for the TRADES recipe), register it like any model (weights sha256, a card
with the recipe and the data) and calibrate its own thresholds (never the natural model's).

Training runs through the shared Trainer into ``FPBENCH_CACHE/methods/robust/<key>/`` (the key hashes the
base weights, the recipe, the data and the seed): Ctrl-C saves, a re-run resumes, a finished unit is reused.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch

from ..cache import json_sha256
from ..data.dataset import FaceDataset
from ..errors import BadInput, FpbenchError, warn
from ..training import Trainer, read_card, unit_key, units_root
from ..zoo import ZOO, ZooEntry, load, state_dict_sha256
from ..zoo.cfg import split_name
from ..zoo.user import add_derived, read_index
from .data import SIZE, FaceCrops, offline_faces
from .learner import CODE_VERSION, AdversarialFineTuning, Recipe


@dataclass
class Robustified:
    """The registered robust tag, its training card and the calibration note."""

    entry: ZooEntry
    card: dict[str, Any]
    thresholds: str


def labelled_faces(dataset: FaceDataset) -> tuple[FaceCrops, torch.Tensor]:
    """The faces of ``dataset`` (its split ``train`` if it has one) and their identity indices, for TRADES."""
    records = sorted(dataset.select(split="train") or dataset.records, key=lambda r: r.id)
    people = sorted({r.identity for r in records})
    if len(people) < 2:
        raise BadInput(f"dataset {dataset.name!r}: the trades recipe needs faces of at least 2 identities")
    x = dataset.images(records, SIZE)
    crops = FaceCrops((x * 255).round().to(torch.uint8), [r.id for r in records],
                      f"{len(records)} identity-labelled faces of {len(people)} people from dataset {dataset.name}")
    return crops, torch.tensor([people.index(r.identity) for r in records])


def robustify(name: str, recipe: Recipe, data: FaceCrops | None = None, labels: torch.Tensor | None = None,
              seed: int = 0, device: str = "cpu", progress: bool = True,
              calibration: FaceDataset | str | None = "mini", replace: bool = False) -> Robustified:
    """Fine-tune ``name`` with ``recipe`` on ``data`` (default: ``offline_faces()``), store it as
    ``name.<recipe.tag>`` and calibrate its thresholds on ``calibration`` (None: leave that to the runs).
    Other weights already stored under that tag are kept unless ``replace``: a one-line error says so before
    training when the recipe or data differ, after it (the training stays cached) when only the weights do."""
    base, tag = split_name(name)
    if tag or name not in ZOO:
        raise BadInput(f"robustify needs an untagged zoo model (see `fpbench zoo list`), not {name!r}")
    model = load(name, torch.device(device))
    data = data if data is not None else offline_faces()
    if recipe.kind == "trades" and labels is None:
        raise BadInput("the trades recipe needs identity-labelled faces: pass --dataset")
    tag_name = f"{base}.{recipe.tag}"
    training_data = f"{ZOO.get(name).cfg.training_data}; fine-tuned on {data.description}"
    existing = read_index().get(tag_name)
    if existing and not replace and (existing.get("recipe"), existing.get("training_data")) != (recipe.describe(), training_data):
        raise BadInput(f"{tag_name} already exists ({existing.get('recipe')}; {existing.get('training_data')}); pass "
                       "--replace to overwrite it with these settings")
    learner = AdversarialFineTuning(model, recipe, data, seed, device, labels)
    identity = {"base": name, "weights": model.card.weights_sha256, "recipe": asdict(recipe), "seed": seed,
                "data": json_sha256([data.ids, data.images.sum().item(), list(data.images.shape)]),
                "labels": None if labels is None else labels.tolist(), "code": CODE_VERSION}
    directory = units_root("robust") / unit_key(identity)
    trainer = Trainer(learner, directory, seed, meta={"key": directory.name, "target_tag": f"{base}.{recipe.tag}"},
                      progress=progress, checkpoint_every=max(5, recipe.steps // 5))
    trainer.run()
    card = read_card(directory) or {}
    sd = torch.load(directory / learner.result_name, map_location="cpu", weights_only=True)
    if existing and not replace and existing.get("weights_sha256") != state_dict_sha256(sd):
        raise BadInput(f"{tag_name} already exists with other weights (another --seed?); pass --replace to overwrite "
                       "it (this training is cached: replacing costs no training)")
    entry = add_derived(tag_name, sd, recipe.describe(), training_data=training_data)
    return Robustified(entry, card, _calibrate(entry.name, calibration, device))


def _calibrate(name: str, calibration: FaceDataset | str | None, device: str) -> str:
    """Calibrate ``name``'s own thresholds; a one-line note of where they are (or why they are not)."""
    if calibration is None:
        return "thresholds: calibrated by each run on its own data (or `fpbench calibrate`)"
    from ..thresholds import calibrate

    try:
        cal = calibrate(name, calibration, device=device)
    except FpbenchError as e:  # e.g. the dataset is not prepared, or too small
        warn(f"{name}: thresholds not calibrated ({e}); run `fpbench calibrate --model {name} --dataset NAME`")
        return "thresholds: not calibrated"
    taus = ", ".join(f"FAR {far:g}: {e.tau:.4f}" for far, e in sorted(cal.estimates.items(), reverse=True))
    return f"thresholds calibrated on {cal.dataset} ({cal.n_impostor} impostor pairs): {taus}"
