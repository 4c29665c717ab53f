"""GAP, face-adapted (spec A4.1): the generator and its L-infinity scaling, training on the shared Trainer
(lowers the surrogate's cosine, resumes bit for bit, cached by content), one mask for everyone, the card's
label and departures, and one-line errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from fpbench.data.dataset import FaceDataset, FaceRecord
from fpbench.errors import BadInput
from fpbench.methods import METHODS
from fpbench.methods.base import ProtectContext
from fpbench.methods.gap.generator import ResnetGenerator, init_weights, scale_linf
from fpbench.methods.gap.learner import GapLearner
from fpbench.methods.gap.profiles import PROFILES, Settings
from fpbench.training import Trainer, seeded
from test_opom import tiny_surrogate

LINF = 10 / 255
TINY = dict(ngf=4, blocks=1, batch=4)


@pytest.fixture
def train_set(tmp_path) -> FaceDataset:
    """Six smooth 112 px 'faces' in split train."""
    records = []
    for k in range(6):
        rng = np.random.default_rng(k)
        small = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
        path = tmp_path / "train" / f"f{k}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(small).resize((112, 112), Image.BICUBIC).save(path)
        records.append(FaceRecord(f"f{k}", f"p{k}", "train", "train", {112: path}))
    return FaceDataset("gap-train", "sha-gap-train", records)


def test_generator_maps_noise_to_a_tanh_image_of_its_size_with_seeded_init():
    a, b, c = (ResnetGenerator(ngf=4, blocks=2) for _ in range(3))
    init_weights(a, seeded(0, "g"))
    init_weights(b, seeded(0, "g"))
    init_weights(c, seeded(1, "g"))
    z = torch.rand(1, 3, 112, 112) * 255
    out = a(z)
    assert out.shape == (1, 3, 112, 112) and out.abs().max() <= 1
    assert torch.equal(out, b(z)) and not torch.equal(out, c(z))
    convs = [m for m in a.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [m.bias is not None for m in convs].count(True) == 1  # only the output conv has a bias (norm='batch')
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in a.modules()) == 3 + 2 * 2 + 2


def test_scale_linf_shrinks_each_channel_to_the_budget_and_never_enlarges():
    t = torch.zeros(1, 3, 4, 4)
    t[0, 0, 0, 0], t[0, 1, 1, 1], t[0, 2, 2, 2] = 0.5, -0.01, -1.0
    t[0, 0, 3, 3] = 0.25
    u = scale_linf(t, LINF)
    peaks = u.abs().amax(dim=(2, 3))[0]
    assert torch.allclose(peaks, torch.tensor([LINF, 0.01, LINF]))
    assert u[0, 0, 3, 3] == pytest.approx(LINF / 2)  # one factor per channel: shapes are kept


def mean_cos(model, x: torch.Tensor, u: torch.Tensor) -> float:
    with torch.no_grad():
        return float(F.cosine_similarity(model(x), model((x + u).clamp(0, 1)), dim=1).mean())


def test_training_lowers_the_surrogate_cosine_and_resumes_bit_for_bit(train_set, tmp_path):
    model = tiny_surrogate()
    settings = Settings(**TINY, steps=14, lr=1e-2)
    learner = GapLearner(settings, train_set, [model], seed=0)
    with torch.no_grad():
        start = learner.final_mask()
    Trainer(learner, tmp_path / "once", 0, progress=False).run()
    done = torch.load(tmp_path / "once" / "model.pt", weights_only=True)
    x = train_set.images(train_set.records)
    trained = mean_cos(model, x, done["mask"])
    noise = torch.randn(3, 112, 112, generator=torch.Generator().manual_seed(0))
    same_norm = noise * done["mask"].norm() / noise.norm()  # a random mask of the trained mask's L2 norm
    assert trained < mean_cos(model, x, start) - 0.005 and trained < mean_cos(model, x, same_norm) - 0.005
    assert done["mask"].abs().amax(dim=(1, 2)).max() <= LINF + 1e-6 and done["mask"].shape == (3, 112, 112)
    # interrupted after 5 steps, resumed by a new process (a new learner): the same mask, bit for bit
    first = Trainer(GapLearner(settings, train_set, [model], seed=0), tmp_path / "resumed", 0, progress=False,
                    checkpoint_every=5)
    assert first.run(max_steps=5) is False
    Trainer(GapLearner(settings, train_set, [model], seed=0), tmp_path / "resumed", 0, progress=False).run()
    resumed = torch.load(tmp_path / "resumed" / "model.pt", weights_only=True)
    assert torch.equal(resumed["mask"], done["mask"]) and torch.equal(resumed["noise"], done["noise"])


def test_fit_is_cached_by_content_and_the_mask_is_one_for_everyone(train_set, fresh_cache, monkeypatch):
    model = tiny_surrogate()
    gap = METHODS.get("gap")(steps=3, **TINY)
    gap.progress = False
    gap.fit(train_set, [model], "cpu")
    directory = gap.checkpoint_dir(train_set, [model])
    assert (directory / "model.pt").is_file() and gap.training_card()["complete"]
    alice = gap.universal_mask(ProtectContext(goal="dodge", identity="alice"))
    bob = gap.universal_mask(ProtectContext(goal="dodge", identity="bob"))
    assert torch.equal(alice, bob) and alice.shape == (3, 112, 112)
    # the same training again is loaded, not retrained
    monkeypatch.setattr(GapLearner, "step", lambda *a: pytest.fail("retrained a cached GAP mask"))
    again = METHODS.get("gap")(steps=3, **TINY)
    again.fit(train_set, [model], "cpu")
    assert torch.equal(again.universal_mask(ProtectContext(goal="dodge")), alice)
    assert again.fitted_state() == gap.fitted_state() and len(gap.fitted_state()["checkpoint_sha256"]) == 64
    monkeypatch.undo()
    # another seed, other training data or another surrogate is another checkpoint
    assert METHODS.get("gap")(steps=3, seed=1, **TINY).checkpoint_dir(train_set, [model]) != directory
    assert gap.checkpoint_dir(train_set, [tiny_surrogate(seed=1)]) != directory
    other = FaceDataset("gap-train", "sha-other", train_set.records)
    assert gap.checkpoint_dir(other, [model]) != directory


def test_card_labels_the_approximation_lists_departures_and_plans():
    mini, paper = METHODS.get("gap")(), METHODS.get("gap")(profile="paper")
    assert mini.scope == "universal" and mini.settings == Settings(ngf=16, blocks=6, batch=8, steps=80)
    assert paper.settings == PROFILES["paper"] == Settings(ngf=64, blocks=6, batch=30, steps=500)
    card = mini.card()
    assert card["label"] == "GAP (face-adapted)" and card["approximation"] is True
    assert any("approximation" in d and "cos(F(x), F(x + U))" in d for d in card["departures"])
    assert "ngf: 16 (GAP code / paper profile: 64)" in card["departures"]
    assert not any(d.startswith("ngf") for d in paper.card()["departures"])
    plan = mini.plan(33)
    assert "ngf 16" in plan and "80 steps x batch 8" in plan and "33 test photos" in plan


def test_wrong_parameters_and_a_missing_fit_are_one_line_errors(train_set):
    with pytest.raises(BadInput, match="gap parameter ngf must be an integer in"):
        METHODS.get("gap")(ngf=0)
    with pytest.raises(BadInput, match="unknown GAP profile 'huge'"):
        METHODS.get("gap")(profile="huge")
    with pytest.raises(BadInput, match="gap has no trained mask yet"):
        METHODS.get("gap")().universal_mask(ProtectContext(goal="dodge"))
    with pytest.raises(BadInput, match="gap needs a white-box surrogate"):
        METHODS.get("gap")().fit(train_set, [], "cpu")
