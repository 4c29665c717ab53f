"""Robust fine-tuning (`fpbench zoo robustify`), its tag in the zoo, BYO robust checkpoints and the report's
measurements, on a toy model and a few dozen synthetic faces (seconds on CPU)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from fpbench.cli.main import main
from fpbench.errors import BadInput
from fpbench.robust.data import FaceCrops, folder_faces
from fpbench.robust.learner import AdversarialFineTuning, Recipe
from fpbench.robust.report import Pairs, ReportSettings, model_row
from fpbench.robust.train import robustify
from fpbench.thresholds import threshold_for
from fpbench.training import Trainer
from fpbench.zoo import ZOO, load
from fpbench.zoo.catalog import weights_path
from fpbench.zoo.model import FaceModel, InputSpec, ModelCard
from fpbench.zoo.names import available_targets, resolve
from fpbench.zoo.user import add_weights
from zoo_helpers import save, synthetic_state_dict, tiny_dataset, user_cache_fixture

user_cache = pytest.fixture(user_cache_fixture)

SIZE = 32
EPS = 8 / 255  # the toy net resists 4/255 PGD fairly well already


def toy_model(seed: int = 0) -> FaceModel:
    """A small conv net on 32 px crops with seeded weights (eval mode, parameters frozen like a zoo model)."""
    torch.manual_seed(seed)
    backbone = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), nn.BatchNorm2d(16), nn.PReLU(16), nn.Conv2d(16, 32, 3, 2, 1),
                             nn.BatchNorm2d(32), nn.PReLU(32), nn.Flatten(), nn.Linear(32 * 8 * 8, 32))
    card = ModelCard("toy", "toy conv net", 32, InputSpec(size=SIZE, scale=1.0, mean=(0.5,) * 3, std=(0.5,) * 3))
    model = FaceModel(backbone, card).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def toy_faces(people: int = 6, each: int = 6, seed: int = 0) -> tuple[torch.Tensor, list[str]]:
    """``people`` smooth random 'faces' and ``each`` noisy copies of each: (N, 3, 32, 32) in [0, 1]."""
    gen = torch.Generator().manual_seed(seed)
    base = F.interpolate(torch.rand(people, 3, 8, 8, generator=gen), size=(SIZE, SIZE), mode="bilinear")
    x = base.repeat_interleave(each, 0) + 0.03 * torch.randn(people * each, 3, SIZE, SIZE, generator=gen)
    return x.clamp(0, 1), [f"p{i // each}" for i in range(people * each)]


def crops(x: torch.Tensor) -> FaceCrops:
    return FaceCrops((x * 255).round().to(torch.uint8), [f"c{i}" for i in range(len(x))], f"{len(x)} toy crops")


def fine_tune(tmp_path, anchor: float = 1.0) -> AdversarialFineTuning:
    x, _ = toy_faces(seed=1)  # other 'people' than the evaluation ones
    recipe = Recipe(eps=EPS, pgd_steps=5, anchor=anchor, lr=2e-3, steps=40, batch_size=12, jitter=2)
    learner = AdversarialFineTuning(toy_model(), recipe, crops(x), seed=0)
    assert Trainer(learner, tmp_path / f"unit-{anchor}", 0, progress=False).run()
    return learner


def pairs() -> Pairs:
    x, ids = toy_faces(seed=2)
    i, j = torch.triu_indices(len(x), len(x), 1)
    genuine = torch.tensor([ids[a] == ids[b] for a, b in zip(i.tolist(), j.tolist())])
    pick = torch.cat([torch.nonzero(genuine)[:16, 0], torch.nonzero(~genuine)[::20][:16, 0]])
    return Pairs(x, ids, i[pick], j[pick], genuine[pick])


def test_robust_fine_tuning_raises_accuracy_under_pgd_at_the_training_eps(tmp_path) -> None:
    learner = fine_tune(tmp_path)
    settings = ReportSettings(eps=(EPS,), pgd_steps=10, search_steps=3, search_pgd_steps=5, far=0.1)
    p = pairs()
    natural = model_row("toy", p, settings, None, model=toy_model())
    robust = model_row("toy.at-eps8", p, settings, None, model=learner.f)
    assert natural.clean_accuracy >= 0.85 and robust.clean_accuracy >= 0.85  # both verify the unseen people
    assert robust.robust_accuracy["8"] >= natural.robust_accuracy["8"] + 0.4, (natural, robust)
    assert natural.median_flip_eps is not None and (robust.median_flip_eps is None
                                                    or robust.median_flip_eps > natural.median_flip_eps)


def test_clean_anchor_keeps_clean_embeddings_near_the_natural_model(tmp_path) -> None:
    anchored = fine_tune(tmp_path).anchor_cosines()
    free = fine_tune(tmp_path, anchor=0.0).anchor_cosines()
    assert anchored["fine-tuned_clean_cos_to_f0"] >= 0.9  # the level the recipe promises at lambda = 1
    assert anchored["fine-tuned_clean_cos_to_f0"] > free["fine-tuned_clean_cos_to_f0"]
    assert anchored["fine-tuned_adv_cos_to_f0"] > anchored["natural_adv_cos_to_f0"] + 0.1


@pytest.fixture
def natural_weights() -> Path:
    """The cached mobilefacenet weights (read before ``user_cache`` swaps the cache)."""
    path = weights_path("mobilefacenet")
    if not path.is_file():
        pytest.skip("mobilefacenet weights are not in the cache (run `fpbench setup`)")
    return path


def test_robust_tag_loads_with_own_thresholds_and_is_listed(natural_weights, user_cache, tmp_path, monkeypatch,
                                                            capsys) -> None:
    shutil.copy(natural_weights, weights_path("mobilefacenet"))
    faces = crops(F.interpolate(toy_faces(2, 2)[0], size=(112, 112), mode="bilinear"))
    calibration = tiny_dataset(tmp_path / "tiny")
    result = robustify("mobilefacenet", Recipe(steps=1, batch_size=2, pgd_steps=1), faces, progress=False,
                       calibration=calibration)
    name = result.entry.name
    assert name == "mobilefacenet.at-eps4" and "calibrated on tinyset" in result.thresholds
    model = load(name)
    natural = load("mobilefacenet")
    assert model.card.weights_sha256 != natural.card.weights_sha256
    assert "identity-agnostic feature-space adversarial fine-tuning" in model.card.source
    assert "4 toy crops" in model.card.training_data
    tau, prov = threshold_for(name, 0.1)
    assert prov["kind"] == "calibrated" and prov["weights_sha256"] == model.card.weights_sha256
    assert resolve(name).zoo_name == name and name in available_targets()
    monkeypatch.setenv("COLUMNS", "240")
    assert main(["zoo", "list"]) == 0 and f"│ {name} " in capsys.readouterr().out
    assert main(["list", "targets"]) == 0 and name in capsys.readouterr().out

    # the tag is never replaced silently: same settings are fine, others need replace=True
    again = robustify("mobilefacenet", Recipe(steps=1, batch_size=2, pgd_steps=1), faces, progress=False, calibration=None)
    assert again.entry.card.weights_sha256 == model.card.weights_sha256
    with pytest.raises(BadInput, match="mobilefacenet.at-eps4 already exists .*pass --replace"):
        robustify("mobilefacenet", Recipe(steps=2, batch_size=2, pgd_steps=1), faces, progress=False, calibration=None)
    with pytest.raises(BadInput, match="already exists with other weights \\(another --seed\\?\\)"):
        robustify("mobilefacenet", Recipe(steps=1, batch_size=2, pgd_steps=1), faces, seed=1, progress=False,
                  calibration=None)
    replaced = robustify("mobilefacenet", Recipe(steps=1, batch_size=2, pgd_steps=1), faces, seed=1, progress=False,
                         calibration=None, replace=True)
    assert replaced.entry.card.weights_sha256 != model.card.weights_sha256



def test_fine_tuning_resumes_bit_identically(tmp_path) -> None:
    x, _ = toy_faces(2, 6, seed=3)
    recipe = Recipe(pgd_steps=2, steps=6, batch_size=4, lr=1e-3)

    def trainer(directory):
        return Trainer(AdversarialFineTuning(toy_model(), recipe, crops(x), seed=0), directory, 0, progress=False,
                       checkpoint_every=3)

    assert trainer(tmp_path / "whole").run()
    assert not trainer(tmp_path / "cut").run(max_steps=3)  # stopped after the step-3 checkpoint
    assert trainer(tmp_path / "cut").run()  # a new process resumes there
    whole, cut = (torch.load(tmp_path / d / "model.pt", weights_only=True) for d in ("whole", "cut"))
    assert all(torch.equal(whole[k], cut[k]) for k in whole)
