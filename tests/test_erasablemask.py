"""ErasableMask at toy sizes: network wiring, eq. 11-12, the meta step, stage freezing, resume, protect/restore."""
from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn

from fpbench.data.dataset import FaceDataset, FaceRecord
from fpbench.errors import BadInput
from fpbench.methods import METHODS, ProtectContext
from fpbench.methods.base import TargetFace
from fpbench.methods.erasablemask import ErasableMask, Restorer, latest_checkpoint, profiles
from fpbench.methods.erasablemask.losses import adv_loss, impersonation_loss
from fpbench.methods.erasablemask.meta_aux import AdaptiveWeights, meta_auxiliary_losses
from fpbench.methods.erasablemask.method import to_canonical
from fpbench.methods.erasablemask.networks import ErasableMaskNets
from fpbench.methods.erasablemask.train import Curriculum, TrainSet
from fpbench.methods.erasablemask.train import trainer as curriculum_trainer
from fpbench.training import Trainer, seeded
from fpbench.zoo.model import FaceModel

from toys import frozen_toy_model, write_gradient_face

TOY = replace(
    profiles.MINI, name="toy", resolution=32, enc_dim=8, dec_dim=8, dis_dim=8, dis_fc_dim=16, max_dim=32,
    n_layers=3, stage_steps=(3, 4, 2), checkpoint_every=3, second_order=True,
    lr=5e-3, inner_lr=5e-3,  # residual generators start as the identity: 9 steps must move them visibly
)
N_ATTRS = 3


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Toy-sized ops are fastest (and immune to a busy machine) on one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def toy_profile(monkeypatch, tmp_path_factory):
    monkeypatch.setitem(profiles.PROFILES, "toy", TOY)
    monkeypatch.setenv("FPBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def toy_surrogate(name: str, seed: int) -> FaceModel:
    torch.manual_seed(seed)
    backbone = nn.Sequential(
        nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.Tanh(), nn.Conv2d(8, 16, 3, 2, 1, bias=False), nn.Tanh(),
        nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(64, 16, bias=False),
    )
    return frozen_toy_model(backbone, name)


@pytest.fixture(scope="session")
def surrogates() -> list[FaceModel]:
    return [toy_surrogate(n, s) for n, s in (("a", 1), ("b", 2), ("c", 3))]


@pytest.fixture(scope="session")
def dataset(tmp_path_factory) -> FaceDataset:
    root = tmp_path_factory.mktemp("toyfaces")
    rng = np.random.default_rng(0)
    records = []
    for i in range(10):
        path = write_gradient_face(Path(root) / f"{i}.png", rng, 48)
        records.append(FaceRecord(
            id=f"r{i}", identity=f"p{i % 4}", role="train" if i < 8 else "target", split="train" if i < 8 else "test",
            crops={48: path}, attributes={"Male": 1 if i % 2 else -1, "Young": -1 if i % 3 else 1, "Smiling": 1},
        ))
    return FaceDataset("toy", "toy-manifest", records)


def face(dataset, i: int) -> TargetFace:
    """Record ``i`` of the toy dataset as an impersonation target."""
    r = dataset.records[i]
    return TargetFace(r.id, r.identity, dataset.images([r], 48))


def trainer(dataset, surrogates, directory, seed=0, profile=TOY) -> Trainer:
    curriculum = Curriculum(profile, TrainSet.from_dataset(dataset), surrogates, face(dataset, 9), seed, "cpu")
    return curriculum_trainer(curriculum, directory, progress=False)


def ctx_for(surrogates, target_ids, dataset=None) -> ProtectContext:
    """A context routing rows by target record id (images given too when ``dataset`` is)."""
    images = None
    if dataset is not None:
        index = {r.id: r for r in dataset.records}
        images = dataset.images([index[t] for t in target_ids], 48)
    return ProtectContext("impersonate", surrogates, images, target_ids=tuple(target_ids))


def toy_nets(seed=0, gamma=TOY.gamma, residual=TOY.residual) -> ErasableMaskNets:
    torch.manual_seed(seed)
    nets = ErasableMaskNets(replace(TOY, gamma=gamma, residual=residual), N_ATTRS).eval()
    if residual:  # as after training: a zero last layer would make every decoder input irrelevant
        with torch.no_grad():
            for p in nets.g.dec.layers[-1].parameters():
                p.add_(0.05 * torch.randn_like(p))
    nets.start_stage2()
    return nets


def test_a_residual_generator_starts_as_the_identity_and_paper_redraws_the_face():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    att = torch.tensor([[0.5, -0.5, 0.5], [-0.5, -0.5, 0.5]])
    with torch.no_grad():
        residual = ErasableMaskNets(replace(TOY, residual=True), N_ATTRS).eval()
        assert torch.equal(residual.g(x, att), x) and torch.equal(residual.restore(x), x)
        whole = ErasableMaskNets(replace(TOY, residual=False), N_ATTRS).eval()
        assert (whole.g(x, att) - x).abs().mean() > 0.1
    assert profiles.MINI.residual and not profiles.PAPER.residual


def test_a_residual_change_is_added_to_the_full_resolution_face():
    x = torch.rand(1, 3, 112, 112)
    xs = torch.nn.functional.interpolate(x, size=(128, 128), mode="bilinear", antialias=True) * 2 - 1
    assert torch.equal(to_canonical(xs, xs, x, residual=True), x)  # no change: the face itself, not resampled
    shifted = to_canonical(xs + 0.1, xs, x, residual=True)  # +0.1 in [-1, 1] is +0.05 in [0, 1]
    inside = (x > 0.01) & (x < 0.94)
    assert torch.allclose((shifted - x)[inside], torch.full_like(x[inside], 0.05), atol=1e-6)
    whole = to_canonical(xs, xs, x, residual=False)  # a whole-image generator's output is resampled
    assert (whole - x).abs().mean() > 1e-3


@pytest.mark.parametrize("residual", [False, True])
def test_fusion_and_injection_shapes(residual):
    nets = toy_nets(residual=residual)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    att = torch.tensor([[0.5, -0.5, 0.5], [-0.5, -0.5, 0.5]])
    with torch.no_grad():
        feats = nets.g.enc(x)
        assert [tuple(f.shape) for f in feats] == [(2, 8, 16, 16), (2, 16, 8, 8), (2, 32, 4, 4)]
        assert [f.shape for f in nets.perturbation_features(x)] == [f.shape for f in feats]
        edited = nets.g(x, att)
        # E_adv starts as a copy of G_enc, so the fused features equal G_enc's and x_adv = x_cov^{att_b}
        assert torch.allclose(nets.adv_generate(x, att), edited, atol=1e-6)
        for p in nets.e_adv.parameters():
            p.add_(0.1 * torch.randn_like(p))
        x_adv = nets.adv_generate(x, att)
        assert x_adv.shape == x.shape and x_adv.abs().max() <= 1
        assert not torch.allclose(x_adv, edited, atol=1e-3)
        nets.gamma = 1.0  # all clean-domain branch: the perturbation vanishes
        assert torch.allclose(nets.adv_generate(x, att), edited, atol=1e-6)
        nets.gamma = 0.0
        assert not torch.allclose(nets.adv_generate(x, att), x_adv, atol=1e-4)
        assert nets.restore(x_adv).shape == x.shape


def test_paper_profile_networks_run_at_256_px():
    """`--profile paper` (section V-A): 5-layer AttGAN at 64/1024 channels, 13 CelebA attributes, 256 px."""
    torch.manual_seed(0)
    nets = ErasableMaskNets(profiles.PAPER, len(profiles.ATTGAN_ATTRIBUTES)).eval()
    nets.start_stage2()
    x = torch.rand(1, 3, 256, 256) * 2 - 1
    att = torch.full((1, len(profiles.ATTGAN_ATTRIBUTES)), 0.5)
    with torch.no_grad():
        feats = nets.g.enc(x)
        assert [tuple(f.shape[1:]) for f in feats] == [(64, 128, 128), (128, 64, 64), (256, 32, 32), (512, 16, 16),
                                                      (1024, 8, 8)]
        assert nets.adv_generate(x, att).shape == nets.restore(x).shape == x.shape
        logit, att_logits = nets.d(x)
        assert logit.shape == (1,) and att_logits.shape == (1, 13)


def test_adaptive_weights_follow_eq_11():
    w = AdaptiveWeights(3)
    assert torch.allclose(w.weights(), torch.full((3,), math.exp(1 / 3)))  # L{0} = L{1} = 1
    for losses in ([0.7, 0.5, 1.0], [0.9, 0.5, 0.8]):  # epoch means 0.8, 0.5, 0.9
        w.record(losses)
    w.end_epoch()
    for losses in ([0.4, 0.5, 0.9], [0.4, 0.4, 0.9]):  # epoch means 0.4, 0.45, 0.9
        w.record(losses)
    w.end_epoch()
    rates = [0.4 / 0.8, 0.45 / 0.5, 0.9 / 0.9]
    denom = sum(math.exp(r) for r in rates)
    by_hand = [math.exp(math.exp(r) / denom) for r in rates]
    assert torch.allclose(w.weights(), torch.tensor(by_hand), atol=1e-6)
    # the slowest-improving surrogate (rate 1.0) gets the largest weight
    assert int(w.weights().argmax()) == 2


def test_adv_loss_clamps_at_epsilon():
    pri = torch.tensor([0.1, 0.2, 0.1], requires_grad=True)
    aux = torch.tensor([0.1, 0.1, 0.2])
    low = adv_loss(pri, aux, epsilon=0.3)
    assert low.item() == pytest.approx(0.3)
    low.backward()
    assert torch.all(pri.grad == 0)
    high = adv_loss(pri, aux, epsilon=0.05)
    assert high.item() == pytest.approx((0.2 + 0.3 + 0.3) / 6)


def test_meta_auxiliary_step_lowers_the_primary_loss(surrogates):
    nets = toy_nets(seed=1)
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    att = torch.full((4, N_ATTRS), 0.5)
    target = torch.rand(1, 3, 32, 32)
    t_embs = [m(target) for m in surrogates]
    params = dict(nets.e_adv.named_parameters())

    def regenerate(inner):
        return (nets.adv_generate(x, att, e_params=inner) + 1) / 2

    def losses(second_order):
        return meta_auxiliary_losses(regenerate(None), regenerate, params, surrogates, t_embs,
                                     AdaptiveWeights(3).weights(), 0.5, second_order)

    pri, aux = losses(second_order=True)
    before = pri.detach().clone()
    grads_2nd = torch.autograd.grad(adv_loss(pri, aux, 0.0), list(params.values()))
    pri1, aux1 = losses(second_order=False)
    grads_1st = torch.autograd.grad(adv_loss(pri1, aux1, 0.0), list(params.values()))
    assert torch.equal(pri1.detach(), before)
    # the double gradient through theta'_E changes the update direction
    assert any(not torch.allclose(a, b) for a, b in zip(grads_2nd, grads_1st))
    with torch.no_grad():
        for p, g in zip(params.values(), grads_2nd):
            p.sub_(0.5 * g)
        after = torch.stack([impersonation_loss(m(regenerate(None)), t) for m, t in zip(surrogates, t_embs)])
    assert after.mean() < before.mean()


def snapshot(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def changed(before: dict, module: nn.Module) -> set[bool]:
    return {not torch.equal(before[k], v) for k, v in module.state_dict().items()}


def test_stage_freezing(dataset, surrogates, tmp_path):
    t = trainer(dataset, surrogates, tmp_path).learner
    t.step(1, 0, seeded(0, "step", 1, 0))
    t.nets.start_stage2()
    assert torch.equal(t.nets.dec_adv.layers[-1][0].weight, t.nets.g.dec.layers[-1][0].weight)
    g, d, e, r, a = (snapshot(m) for m in (t.nets.g, t.nets.d, t.nets.e_adv, t.nets.r, t.nets.dec_adv))
    t.check(3)
    t.step(2, 0, seeded(0, "step", 2, 0))
    assert changed(g, t.nets.g) == {False}  # G_enc / G_dec parameters and statistics bit-unchanged
    assert True in changed(e, t.nets.e_adv) and True in changed(r, t.nets.r) and True in changed(d, t.nets.d)
    assert True in changed(a, t.nets.dec_adv)  # the residual profile's adversarial decoder trains with E_adv
    g, d, e, r, a = (snapshot(m) for m in (t.nets.g, t.nets.d, t.nets.e_adv, t.nets.r, t.nets.dec_adv))
    t.step(3, 0, seeded(0, "step", 3, 0))
    assert changed(g, t.nets.g) == changed(d, t.nets.d) == changed(e, t.nets.e_adv) == changed(a, t.nets.dec_adv) \
        == {False}
    assert True in changed(r, t.nets.r)


def test_resume_after_interruption_gives_the_same_weights(dataset, surrogates, tmp_path):
    assert trainer(dataset, surrogates, tmp_path / "straight").run()
    interrupted = trainer(dataset, surrogates, tmp_path / "resumed")
    assert not interrupted.run(max_steps=5)  # stage 1 (3 steps) + 2 of stage 2; last checkpoint: stage 2 start
    assert trainer(dataset, surrogates, tmp_path / "resumed").run()
    a = torch.load(tmp_path / "straight" / "model.pt", weights_only=True)["nets"]
    b = torch.load(tmp_path / "resumed" / "model.pt", weights_only=True)["nets"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert (tmp_path / "straight" / "model.pt").read_bytes() == (tmp_path / "resumed" / "model.pt").read_bytes()


@pytest.fixture(scope="module")
def fitted(one_thread, dataset, surrogates, tmp_path_factory):
    """Two toy models (seeds 0 and 1) for the same target, trained once for the session."""
    mp = pytest.MonkeyPatch()
    mp.setitem(profiles.PROFILES, "toy", TOY)
    mp.setenv("FPBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
    target = dataset.images([dataset.records[9]], 48)
    methods = []
    for seed in (0, 1):
        m = ErasableMask(profile="toy", seed=seed, progress=False)
        m.fit(dataset, surrogates, "cpu", target=face(dataset, 9))
        methods.append(m)
    yield methods, target
    mp.undo()


def test_protect_and_restore(fitted, dataset, surrogates):
    (method, _), target = fitted
    assert METHODS.get("erasablemask") is ErasableMask and method.reversible
    x = dataset.images(dataset.records[:3], 48)
    ctx = ctx_for(surrogates, ["r9"] * 3, dataset)
    before = snapshot(method._models["r9"].nets)
    y = method.protect(x, ctx)
    assert y.shape == x.shape and y.dtype == torch.float32 and 0 <= y.min() and y.max() <= 1
    assert changed(before, method._models["r9"].nets) == {False}  # nothing updated, BatchNorm statistics included
    torch.manual_seed(12345)  # the flipped attribute comes from a hash of seed and image, not the global RNG
    assert torch.equal(y, method.protect(x, ctx))
    alone = method.protect(x[1:2], ctx_for(surrogates, ["r9"]))
    assert torch.allclose(y[1:2], alone, atol=1e-5)  # independent of the batch (up to float rounding)
    assert (y - x).abs().amax(dim=(1, 2, 3)).min() > 1e-3  # every face changed
    rec = method.restore(y)
    assert rec.shape == x.shape and 0 <= rec.min() and rec.max() <= 1
    small = torch.nn.functional.interpolate(x, size=(40, 40), mode="bilinear", antialias=True)
    assert method.protect(small, ProtectContext("impersonate", surrogates, None)).shape == small.shape
    with pytest.raises(BadInput, match="not trained for target 'r0'"):
        method.protect(x[:1], ctx_for(surrogates, ["r0"], dataset))
    card = method.card()
    assert card["checkpoints"]["r9"]["sha256"] and card["departures"]


def test_cached_model_is_reused_and_found(fitted, dataset, surrogates):
    (first, _), target = fitted
    again = ErasableMask(profile="toy", seed=0, progress=False)
    again.fit(dataset, surrogates, "cpu", target=face(dataset, 9))
    assert again.card()["checkpoints"] == first.card()["checkpoints"]
    found = latest_checkpoint(profile="toy", target_id="r9", seed=0, surrogates=["a", "b", "c"])
    assert found == Path(first.card()["checkpoints"]["r9"]["directory"])
    loaded = ErasableMask.from_checkpoint(found)
    x = dataset.images(dataset.records[:2], 48)
    ctx = ProtectContext("impersonate", surrogates, None)
    assert torch.equal(loaded.protect(x, ctx), first.protect(x, ctx))


def test_a_wrong_restorer_can_be_plugged_in(fitted, dataset, surrogates):
    (right, other), _ = fitted
    wrong_r = Restorer.load(other.card()["checkpoints"]["r9"]["directory"])
    wrong = right.with_restorer(wrong_r)
    y = right.protect(dataset.images(dataset.records[:2], 48), ProtectContext("impersonate", surrogates, None))
    assert wrong.card()["restorer"]["checkpoint_sha256"] != right.card()["checkpoints"]["r9"]["sha256"]
    assert "restorer" not in right.card()
    assert not torch.allclose(wrong.restore(y), right.restore(y))
    assert torch.equal(wrong.protect(y, ProtectContext("impersonate", surrogates, None)),
                       right.protect(y, ProtectContext("impersonate", surrogates, None)))


def test_fit_needs_a_target_and_attributes(dataset, surrogates):
    with pytest.raises(BadInput, match="target"):
        ErasableMask(profile="toy").fit(dataset, surrogates, "cpu")
    with pytest.raises(BadInput, match="no trained model yet"):
        ErasableMask(profile="toy").fitted_state("r9")
    bare = FaceDataset("bare", "m", [replace(r, attributes={}) for r in dataset.records])
    with pytest.raises(BadInput, match="attribute"):
        TrainSet.from_dataset(bare)


def test_profiles_state_their_departures():
    assert profiles.departures(profiles.PAPER) == []
    mini = profiles.departures(profiles.MINI)
    assert any(d.startswith("resolution: 128") for d in mini) and any("first-order" in d for d in mini)
    assert profiles.MINI.sigma1 == pytest.approx(15.0)
    assert profiles.get_profile("paper", 0.5).stage_epochs == (100, 50, 25)
    with pytest.raises(BadInput):
        profiles.get_profile("mini", 0)


def test_train_command_is_registered():
    import argparse

    from fpbench.cli import train

    parser = argparse.ArgumentParser()
    train.register(parser.add_subparsers())
    args = parser.parse_args(["train", "erasablemask", "--surrogate", "a,b,c", "--steps-scale", "0.5"])
    assert args.surrogate == ["a", "b", "c"] and args.steps_scale == 0.5 and args.profile == "mini"


def test_one_model_per_target_routed_by_id(fitted, dataset, surrogates):
    (single, _), t9 = fitted
    both = ErasableMask(profile="toy", seed=0, progress=False)
    both.fit(dataset, surrogates, "cpu", target=face(dataset, 9))  # from the cache
    both.fit(dataset, surrogates, "cpu", target=face(dataset, 8))
    x = dataset.images(dataset.records[:2], 48)
    ctx = ctx_for(surrogates, ["r9", "r8"], dataset)
    y = both.protect(x, ctx)
    only9 = ctx_for(surrogates, ["r9"], dataset)
    assert torch.allclose(y[:1], single.protect(x[:1], only9), atol=1e-5)
    assert [m.target_id for m in both._route(ctx.target_ids, 2)] == ["r9", "r8"]
    # the id routes, not the pixels: r8's face with r9's id gives r9's model
    swapped = ProtectContext("impersonate", surrogates, ctx.target_images.flip(0), target_ids=("r9", "r8"))
    assert torch.equal(both.protect(x, swapped), y)
    assert torch.allclose(both.restore(y[:1], only9), single.restore(y[:1]), atol=1e-5)
    assert both.restore(y, ctx).shape == x.shape
    with pytest.raises(BadInput, match="several targets"):
        both.restore(y)
    with pytest.raises(BadInput, match="2 target ids for 1 images"):
        both.protect(x[:1], ctx)


def test_wrong_key_and_unperturbed_reference(fitted, dataset, surrogates):
    (single, _), t9 = fitted
    assert single.wrong_keys() == {} and single.restore_with_wrong_key(t9) is None
    both = ErasableMask(profile="toy", seed=0, progress=False)
    both.fit(dataset, surrogates, "cpu", target=face(dataset, 9))
    both.fit(dataset, surrogates, "cpu", target=face(dataset, 8))
    assert both.wrong_keys() == {"r8": "r9", "r9": "r8"} and both.card()["wrong_key_restorers"] == both.wrong_keys()
    x = dataset.images(dataset.records[:2], 48)
    ctx = ctx_for(surrogates, ["r9", "r8"], dataset)
    y = both.protect(x, ctx)
    wrong = both.restore_with_wrong_key(y, ctx)
    r9, r8 = (Restorer(both._models[t]) for t in ("r9", "r8"))
    assert torch.allclose(wrong[:1], r8(y[:1]), atol=1e-5) and torch.allclose(wrong[1:], r9(y[1:]), atol=1e-5)
    edited = both.unperturbed(x, ctx)  # x_cov^{att_b}: the same edit as protect, without E_adv
    assert edited.shape == x.shape and not torch.allclose(edited, y, atol=1e-3)


def test_fitted_state_names_the_checkpoints(fitted, dataset, surrogates):
    """What the cache keys of the outputs contain: the checkpoint a target's outputs use (and the wrong key's)."""
    (single, other), _ = fitted
    sha9 = single.card()["checkpoints"]["r9"]["sha256"]
    assert single.fitted_state("r9") == single.fitted_state() == {"checkpoint_sha256": sha9}
    assert other.fitted_state("r9")["checkpoint_sha256"] != sha9  # seed 1: another checkpoint, another key
    both = ErasableMask(profile="toy", seed=0, progress=False)
    both.fit(dataset, surrogates, "cpu", target=face(dataset, 9))
    both.fit(dataset, surrogates, "cpu", target=face(dataset, 8))
    sha8 = both.card()["checkpoints"]["r8"]["sha256"]
    assert both.fitted_state("r9") == {"checkpoint_sha256": sha9, "wrong_key_sha256": sha8}
    assert both.fitted_state("r8") == {"checkpoint_sha256": sha8, "wrong_key_sha256": sha9}
    with pytest.raises(BadInput, match="not trained for target 'r0'"):
        both.fitted_state("r0")


def test_a_checkpoint_trained_toward_other_pixels_is_not_reused(fitted, dataset, surrogates):
    """The key holds the target id; a model trained from other pixels of that id (e.g. another crop size
    by an older fpbench) is refused instead of silently used."""
    shifted = face(dataset, 9)
    shifted = TargetFace(shifted.id, shifted.identity, shifted.images.flip(3))
    with pytest.raises(BadInput, match="trained toward other pixels of target 'r9'"):
        ErasableMask(profile="toy", seed=0, progress=False).fit(dataset, surrogates, "cpu", target=shifted)


def test_working_resolution_follows_the_profile():
    """paper reads 256-px crops (its networks' size); mini keeps 112-px crops, resized inside to 128 px."""
    from fpbench.methods.erasablemask import AttributesModified

    assert ErasableMask(profile="paper").image_size == AttributesModified(profile="paper").image_size == 256
    assert ErasableMask(profile="mini").image_size == AttributesModified(profile="mini").image_size == 112


def test_attributes_modified_is_erasablemask_stage_1(fitted, dataset, surrogates):
    (single, _), t9 = fitted
    from fpbench.methods.erasablemask import AttributesModified

    edit = AttributesModified(profile="toy", seed=0, progress=False)
    edit.fit(dataset, (), "cpu")  # the shared stage 1 the fitted ErasableMask wrote: nothing to train
    assert edit.fitted_state("r9") == {"checkpoint_sha256": edit.card()["stage1_sha256"]}
    assert METHODS.get("attributes-modified") is AttributesModified and not edit.reversible
    x = dataset.images(dataset.records[:3], 48)
    ctx = ProtectContext("impersonate", surrogates, t9.expand(3, -1, -1, -1))
    g_stage1, g_final = edit._model.nets.g.state_dict(), single._models["r9"].nets.g.state_dict()
    assert all(torch.equal(g_stage1[k], g_final[k]) for k in g_stage1)  # the same editor G...
    # ...but D_att (which estimates att_a at protect time) trained on in stage 2, so edits may differ slightly
    assert (edit.protect(x, ctx) - single.unperturbed(x, ctx)).abs().mean() < 0.01
    assert edit.card()["stage1_sha256"]


def test_attributes_modified_trains_only_stage_1(dataset, tmp_path, monkeypatch):
    monkeypatch.setenv("FPBENCH_CACHE", str(tmp_path / "cache"))
    from fpbench.methods.erasablemask import AttributesModified
    from fpbench.methods.erasablemask.checkpoints import stage1_path

    edit = AttributesModified(profile="toy", seed=3, progress=False)
    edit.fit(dataset, (), "cpu")
    path = stage1_path(TOY, dataset.manifest_sha256, 3)
    assert path.is_file() and not (path.with_suffix("") / "progress.pt").exists()
    assert not any(p.name == "model.pt" for p in path.parent.rglob("*"))


def test_ctrl_c_saves_the_finished_step_and_resume_matches(dataset, surrogates, tmp_path):
    import signal

    t = trainer(dataset, surrogates, tmp_path / "interrupted")
    original = t.learner.step

    def step_then_ctrl_c(stage, step, generator):
        row = original(stage, step, generator)
        if (stage, step) == (2, 1):
            signal.raise_signal(signal.SIGINT)  # arrives mid-step: held until the step is complete
        return row

    t.learner.step = step_then_ctrl_c
    # Ctrl-C as in a terminal (a background job, e.g. under CI, may start with SIGINT ignored)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            t.run()
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handed back after the run
    finally:
        signal.signal(signal.SIGINT, previous)
    saved = torch.load(tmp_path / "interrupted" / "progress.pt", weights_only=True)["state"]
    assert (saved["stage"], saved["step"]) == (2, 2)  # not the last periodic checkpoint (stage 2 start)
    assert trainer(dataset, surrogates, tmp_path / "interrupted").run()
    assert trainer(dataset, surrogates, tmp_path / "straight").run()
    assert ((tmp_path / "straight" / "model.pt").read_bytes()
            == (tmp_path / "interrupted" / "model.pt").read_bytes())


def test_an_ignored_or_custom_sigint_is_left_alone():
    import signal

    from fpbench.training import deferred_interrupt

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with deferred_interrupt():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        signal.signal(signal.SIGINT, signal.default_int_handler)
        with deferred_interrupt():
            assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, previous)
