"""The learned attackers (fpbench.adversaries.recnet / learned / reconstruct_learned / deobfuscate): the U-Net's
shapes, a tiny seeded training that lowers its loss, a cached training that trains nothing again, the
auxiliary faces, the adaptive table on hand-made rows, and `--attacks reconstruction,deobfuscate` on mini."""
from __future__ import annotations

import pandas as pd
import pytest
import torch

from fpbench.adversaries.learned import Batches, Budget, PairLearner, auxiliary_faces, seeded_net, train
from fpbench.adversaries.recnet import RecNet
from fpbench.errors import BadInput
from fpbench.training import read_card

TINY = Budget(steps=60, batch=6, width=8, lr=3e-3, jitter=1)


@pytest.mark.parametrize("channels, size, image", [(64, 28, False), (64, 17, False), (3, 112, True)])
def test_recnet_maps_features_or_images_to_a_112_px_face_in_0_1(channels, size, image):
    net = RecNet(channels, size, width=8, image_input=image).eval()
    with torch.no_grad():
        out = net(torch.randn(2, channels, size, size))
    assert out.shape == (2, 3, 112, 112) and out.min() >= 0 and out.max() <= 1


def _tiny_task(seed: int = 0) -> tuple[RecNet, Batches]:
    """16 px images of flat colours and a fixed stride-4 conv as E_c: R must learn to invert it."""
    g = torch.Generator().manual_seed(seed)
    faces = torch.rand(6, 3, 1, 1, generator=g).expand(6, 3, 16, 16).contiguous()
    encode = torch.nn.Conv2d(3, 4, 4, 4).requires_grad_(False)
    with torch.no_grad():
        encode.weight.copy_(torch.randn(encode.weight.shape, generator=g))
        encode.bias.zero_()
    net = seeded_net(seed, 4, 4, width=8, out_size=16)
    return net, Batches(faces, faces, TINY, seed, encode=encode)


def test_a_tiny_seeded_training_lowers_its_loss_and_is_reproducible(tmp_path):
    net, batches = _tiny_task()
    trained = train(net, batches, TINY, 0, tmp_path / "a", "tiny", {})
    curve = read_card(tmp_path / "a")["loss_curves"]["1"]["l2"]
    assert curve["last"] < 0.5 * curve["first"], curve
    again = train(*_tiny_task(), TINY, 0, tmp_path / "b", "tiny", {})
    for a, b in zip(trained.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)  # same seed, same weights, bit for bit
    assert not any(p.requires_grad for p in trained.parameters()) and not trained.training


def test_a_finished_training_is_reused_without_a_step(tmp_path, monkeypatch):
    first = train(*_tiny_task(), TINY, 0, tmp_path, "tiny", {})

    def no_step(*args, **kwargs):
        raise AssertionError("trained again")

    monkeypatch.setattr(PairLearner, "step", no_step)
    net, batches = _tiny_task(seed=1)  # other initial weights: the cached ones must replace them
    second = train(net, batches, TINY, 0, tmp_path, "tiny", {})
    for a, b in zip(first.state_dict().values(), second.state_dict().values()):
        assert torch.equal(a, b)


def test_batches_augment_both_images_of_a_pair_alike():
    x = torch.rand(8, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    v, t = Batches(x, x, TINY, 0)(3, torch.Generator().manual_seed(1))
    assert v.shape == (6, 3, 16, 16) and torch.equal(v, t)
    with pytest.raises(ValueError, match="as many inputs as targets"):
        Batches(x, x[:2], TINY, 0)


def test_auxiliary_faces_are_training_faces_of_people_not_evaluated(mini):
    from fpbench.protocols.authorise import Authorise

    evaluated = [i.source for i in Authorise().items(mini, "dodge")]
    aux = auxiliary_faces(mini.records, evaluated)
    people = {r.identity for r in evaluated}
    assert aux and all(r.split == "train" and r.identity not in people for r in aux)
    assert len(aux) == 11  # mini: 19 training faces, 8 of them evaluated by mini-pmt (spec B5.1)
    with pytest.raises(BadInput, match="split 'train' faces of people the run does not evaluate"):
        auxiliary_faces(mini.records, mini.records)


def test_adaptive_table_and_metrics_on_hand_made_rows():
    from fpbench.metrics.registry import METRICS
    from fpbench.results.table_vi import adaptive_table

    rows = pd.DataFrame([
        {"target": "a", "kind": "unauthorised", "correct": False},
        {"target": "a", "kind": "unauthorised", "correct": False},
        {"target": "a", "kind": "deobfuscated-unauthorised", "correct": True},
        {"target": "a", "kind": "deobfuscated-unauthorised", "correct": False},
        {"target": "a", "kind": "deobfuscation", "ssim": 0.5, "psnr": 20.0, "ssim_released": 0.1, "psnr_released": 8.0},
        {"target": "a", "kind": "deobfuscation", "ssim": 0.7, "psnr": 22.0, "ssim_released": 0.0, "psnr_released": 9.0},
    ])
    assert METRICS["deob_accuracy"].estimate(rows[rows["kind"].isin(METRICS["deob_accuracy"].kinds)]).value == 50.0
    assert METRICS["deob_ssim"].estimate(rows[rows["kind"] == "deobfuscation"]).value == pytest.approx(0.6)
    table = adaptive_table(rows, {"train_faces": 11})
    cells = [c._cells[0] for c in table.columns]
    assert cells[:3] == ["a", "0.0", "50.0"] and cells[5:] == ["0.050", "0.600", "8.50", "21.00"]
    assert "outside the paper's threat model" in table.title and "11 auxiliary faces" in table.title
    assert adaptive_table(rows[rows["kind"] == "unauthorised"], None) is None


@pytest.fixture
def tiny_attacks(monkeypatch):
    from fpbench.adversaries import deobfuscate

    monkeypatch.setattr(deobfuscate, "PROFILES", {"mini": Budget(steps=2, batch=4, width=8)})


def test_deobfuscate_on_mini_then_from_the_cache(mini, embedded, tiny_attacks, monkeypatch):
    """pmt --attacks deobfuscate: D(x~1) rows of every pair and target at both thresholds, SSIM rows per face,
    the card's label; a second run trains nothing and runs no PMT on the auxiliary faces."""
    import fpbench
    from fpbench.methods.pmt.method import PMT
    from fpbench.results.table_vi import render

    embedded("mobilefacenet")
    embedded("mfn512")
    common = dict(dataset="mini", protocol="authorise", quality=False, out=None, params={"steps": 2})
    result = fpbench.run("pmt", ["mobilefacenet", "mfn512"], authorised=["mobilefacenet"], attacks=["deobfuscate"],
                         **common)
    s = result.scores
    pairs = len(s[(s["kind"] == "authorised") & (s["target"] == "mobilefacenet")])
    for kind, target in (("deobfuscated-authorised", "mobilefacenet"), ("deobfuscated-unauthorised", "mfn512"),
                         ("deobfuscated-unauthorised-kappa", "mfn512")):
        assert len(s[(s["kind"] == kind) & (s["target"] == target)]) == pairs
    image = s[s["kind"] == "deobfuscation"]
    assert len(image) == 24 and set(image["target"]) == {"mobilefacenet"} and image["ssim"].between(-1, 1).all()
    from fpbench.stores import TensorStore

    restored = TensorStore("tensors").get(image["deobfuscated"].iloc[0])
    assert restored.shape == (3, 112, 112) and 0 <= restored.min() and restored.max() <= 1
    card = result.card["protocol"]["attacks"]["deobfuscate"]
    assert card["label"] == "adaptive attacker (outside the paper's threat model)" and card["train_faces"] == 11
    assert any("Adaptive attacker" in str(t.title) for t in render(s, result.card))

    def refuse(*args, **kwargs):
        raise AssertionError("worked again")

    monkeypatch.setattr(PairLearner, "step", refuse)
    monkeypatch.setattr(PMT, "protect", refuse)  # the run's own x~ come from the cache as well
    again = fpbench.run("pmt", ["mobilefacenet", "mfn512"], authorised=["mobilefacenet"], attacks=["deobfuscate"],
                        **common)
    pd.testing.assert_frame_equal(again.scores[again.scores["kind"] == "deobfuscation"].reset_index(drop=True),
                                  image.reset_index(drop=True))


def test_the_plan_names_both_levels_and_the_adaptive_attackers_cost():
    from fpbench.adversaries import plan
    from fpbench.adversaries.learned import PROFILES, STEP_SECONDS as TRAIN
    from fpbench.methods.pmt.method import STEP_SECONDS

    text = plan(("reconstruction", "deobfuscate"), ("mobilefacenet",), "mini", 24, auxiliary=11, method_steps=100)
    assert f"RecFace {PROFILES['mini'].steps} steps on 11 auxiliary train faces" in text
    assert f"x 100 steps, about {11 * 100 * STEP_SECONDS['mobilefacenet'] / 60:.1f} CPU-min" in text
    assert f"about {PROFILES['mini'].steps * TRAIN['mini']['image'] / 60:.1f} CPU-min (both cached)" in text
    assert "deobfuscate (outside the paper's threat model)" in text
