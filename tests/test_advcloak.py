"""AdvCloak, AdvFaces and AdvFaces+ at toy sizes: networks, losses, the two training stages (resume), the masks
(L2 4.706, deterministic, from inference photos only), stage-I reuse, and `fpbench run` end to end."""
from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn

from fpbench.data.dataset import FaceDataset, FaceRecord
from fpbench.errors import BadInput
from fpbench.methods import METHODS, ProtectContext
from fpbench.methods.advcloak import losses as L
from fpbench.methods.advcloak import profiles
from fpbench.methods.advcloak.data import TrainFaces
from fpbench.methods.advcloak.method import GeneratorMethod
from fpbench.methods.advcloak.networks import Discriminator, Generator, make_networks, parameter_count
from fpbench.methods.advcloak.profiles import MINI, PAPER, departures
from fpbench.methods.advcloak.train import ClassStage, ImageStage, run_stage
from fpbench.training import Trainer, seeded
from fpbench.zoo.model import FaceModel

from toys import frozen_toy_model, write_gradient_face

TINY = replace(profiles.MINI, name="tiny", ngf=2, stage1_batch=2, stage1_steps=4, images=3, stage2_steps=4,
               warmup_steps=2, stage1_lr=1e-3, stage2_lr=1e-3, checkpoint_every=2)
MASK_L2 = 1200 / 255
FAMILY = ("advcloak", "advcloak-affinehull", "advcloak-classcenter", "advcloak-convexhull", "advfaces-plus", "advfaces")


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Toy-sized ops are fastest (and immune to a busy machine) on one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def tiny_profile(request, monkeypatch, tmp_path_factory):
    """The tiny profile, and a scratch cache (the end-to-end test makes its own from the real one)."""
    monkeypatch.setitem(profiles.PROFILES, "tiny", TINY)
    if "private_cache" not in request.fixturenames:
        monkeypatch.setenv("FPBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def toy_surrogate(name: str = "toy", seed: int = 1) -> FaceModel:
    torch.manual_seed(seed)
    backbone = nn.Sequential(
        nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.Tanh(), nn.Conv2d(8, 16, 3, 2, 1, bias=False), nn.Tanh(),
        nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(64, 16, bias=False),
    )
    return frozen_toy_model(backbone, name)


@pytest.fixture(scope="session")
def surrogates() -> list[FaceModel]:
    return [toy_surrogate()]


@pytest.fixture(scope="session")
def dataset(tmp_path_factory) -> FaceDataset:
    """6 training faces and 2 people with 3 inference (gallery) photos each, 112 px."""
    root = tmp_path_factory.mktemp("toyfaces")
    rng = np.random.default_rng(0)
    records = []
    for i in range(12):
        path = write_gradient_face(Path(root) / f"{i}.png", rng, 112)
        train = i < 6
        records.append(FaceRecord(id=f"r{i:02d}", identity=f"p{i}" if train else f"q{i % 2}",
                                  role="train" if train else "gallery", split="train" if train else "test",
                                  crops={112: path}))
    return FaceDataset("toy", "toy-manifest", records)


def inference(dataset: FaceDataset, person: str) -> torch.Tensor:
    return dataset.images([r for r in dataset.records if r.identity == person])


def fitted(name: str, dataset, surrogates, seed: int = 0) -> GeneratorMethod:
    method = METHODS.get(name)(profile="tiny", seed=seed, progress=False)
    method.fit(dataset.split("train"), surrogates, "cpu")
    return method


# ------------------------------------------------------------------------------------------------ networks
def test_paper_generator_has_7_28_m_parameters_and_the_networks_keep_their_shapes():
    assert parameter_count(Generator(64)) == 7_280_448
    g, d = Generator(4).eval(), Discriminator().eval()
    x = torch.rand(2, 3, 112, 112)
    p = g(x)
    assert p.shape == x.shape and p.abs().max() <= 1
    assert d(x).shape == (2, 16)


# -------------------------------------------------------------------------------------------------- losses
def test_noisy_soft_labels_flip_the_last_five_percent():
    gen = torch.Generator().manual_seed(0)
    real = L.soft_labels(torch.Size([5, 16]), True, 0.05, gen).flatten()
    fake = L.soft_labels(torch.Size([5, 16]), False, 0.05, gen).flatten()
    assert ((real[:76] >= 0.9) & (real[:76] <= 1)).all() and (real[76:] <= 0.1).all()
    assert (fake[:76] <= 0.1).all() and (fake[76:] >= 0.9).all()


def test_norm_hinge_only_pushes_norms_above_epsilon_down():
    p = torch.zeros(2, 3, 4, 4)
    p[0, 0, 0, 0], p[1, 0, 0, 0] = 1.0, 5.0
    p.requires_grad_(True)
    loss = L.norm_hinge(p, 3.0)
    loss.backward()
    assert loss.item() == pytest.approx((3 + 5) / 2)
    assert p.grad[0].abs().sum() == 0 and p.grad[1, 0, 0, 0] > 0


def test_subspace_losses_use_the_clean_features_as_constants():
    torch.manual_seed(0)
    clean = torch.nn.functional.normalize(torch.randn(6, 8), dim=1).requires_grad_(True)
    adv = torch.nn.functional.normalize(clean.detach() + 0.8 * torch.randn(6, 8), dim=1).requires_grad_(True)
    cos = lambda a, b: torch.nn.functional.cosine_similarity(a, b, dim=1).mean()  # noqa: E731
    assert L.subspace_cos(clean, adv, "cos").item() == pytest.approx(cos(clean, adv).item())
    assert L.subspace_cos(clean, adv, "center").item() == pytest.approx(cos(clean.mean(0, keepdim=True), adv).item())
    for loss in ("affine", "convex"):
        value = L.subspace_cos(clean, adv, loss)
        grad_adv, grad_clean = torch.autograd.grad(value, (adv, clean), allow_unused=True)
        assert grad_adv.abs().sum() > 0
        # w* is detached (no gradient through the QP); the anchor is A^T w*, so clean gets w*-weighted gradient only
        assert value.item() > L.subspace_cos(clean, adv, "center").item()  # the hulls are closer to u than the centre
    with pytest.raises(ValueError, match="unknown advcloak loss"):
        L.subspace_cos(clean, adv, "nope")


# -------------------------------------------------------------------------------------------------- stages
def test_stage_one_shrinks_its_perturbations_and_learns_an_adversarial_direction(dataset, surrogates):
    p = replace(TINY, stage1_steps=15, stage1_lr=5e-3, stage1_batch=6, augment=False, output_gain=1.0)  # the code's init
    learner = ImageStage(p, TrainFaces.from_dataset(dataset.split("train"), p, 0), surrogates, 0, "cpu")
    before = learner.report()
    rows = [learner.step(1, k, seeded(0, "step", 1, k)) for k in range(15)]
    after = learner.report()
    norms = [r["norm"] for r in rows]
    assert norms[-1] < norms[0] / 3 and all(b < a for a, b in zip(norms, norms[1:10]))  # the hinge pulls ||p|| to 3
    assert rows[-1]["adv_cos"] < rows[0]["adv_cos"]
    # at the benchmark's L2 4.706 the trained direction moves the surrogate's features more than the initial one
    assert after["whitebox_cos_clean_vs_protected"]["toy"] < before["whitebox_cos_clean_vs_protected"]["toy"] - 0.02


def test_the_mini_init_starts_below_tanh_saturation_and_is_a_listed_departure():
    code, mini = make_networks(16, 0)[0], make_networks(16, 0, MINI.output_gain)[0]
    x = torch.rand(2, 3, 112, 112, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        raw = [g.eval()(x).flatten(1).norm(dim=1).mean().item() for g in (code, mini)]
    assert raw[0] > 100 and raw[1] < raw[0] / 5  # a saturated tanh (max sqrt(3 x 112^2) = 194) vs a small start
    assert any("last layer's Kaiming weights x 0.05" in d for d in departures(MINI))
    assert not any("Kaiming" in d for d in departures(PAPER))


def test_stage_two_starts_from_stage_one_with_one_mask_per_identity(dataset, surrogates, tmp_path, monkeypatch):
    faces = TrainFaces.from_dataset(dataset.split("train"), TINY, 0)
    first = ImageStage(TINY, faces, surrogates, 0, "cpu")
    run_stage(first, tmp_path / "s1", {}, progress=False)
    blob = torch.load(tmp_path / "s1" / "model.pt", weights_only=True)
    second = ClassStage(TINY, faces, surrogates, 0, "cpu", "convex", blob)
    assert all(torch.equal(a, b) for a, b in zip(second.g.state_dict().values(), blob["g"].values()))
    xs = faces.stage2_batch(0)
    assert xs.shape == (TINY.identities, TINY.images, 3, 112, 112)
    assert second.warmup == 2
    used = []
    monkeypatch.setattr(L, "class_loss", lambda s, x, adv, loss, original=L.class_loss: used.append(loss)
                        or original(s, x, adv, loss))
    rows = [second.step(1, k, seeded(0, "step", 1, k)) for k in range(3)]
    assert used == ["center", "center", "convex"]  # the class-centre warm-up, then the convex hull
    assert all(np.isfinite(list(r.values())).all() for r in rows)


@pytest.mark.parametrize("loss", ["stage I", "cos", "convex"])
def test_resume_after_interruption_is_bit_identical(dataset, surrogates, tmp_path, loss):
    faces = TrainFaces.from_dataset(dataset.split("train"), TINY, 0)
    run_stage(ImageStage(TINY, faces, surrogates, 0, "cpu"), tmp_path / "s1", {}, progress=False)
    blob = torch.load(tmp_path / "s1" / "model.pt", weights_only=True)

    def trainer(name: str) -> Trainer:
        faces = TrainFaces.from_dataset(dataset.split("train"), TINY, 0)  # a new process: nothing in memory
        learner = (ImageStage(TINY, faces, surrogates, 0, "cpu") if loss == "stage I"
                   else ClassStage(TINY, faces, surrogates, 0, "cpu", loss, blob))
        return Trainer(learner, tmp_path / name, 0, progress=False, checkpoint_every=TINY.checkpoint_every)

    assert trainer("straight").run()
    assert not trainer("resumed").run(max_steps=3)  # checkpoint after step 2, step 3 is lost and redone
    assert trainer("resumed").run()
    assert (tmp_path / "straight" / "model.pt").read_bytes() == (tmp_path / "resumed" / "model.pt").read_bytes()


# --------------------------------------------------------------------------------------------------- masks
def test_every_mask_has_l2_4_706_and_is_the_same_on_every_call(dataset, surrogates):
    ctx = ProtectContext("dodge", surrogates)
    for name in FAMILY[:5]:
        method = fitted(name, dataset, surrogates)
        assert method.scope == "person"
        x = inference(dataset, "q0")
        mask = method.person_mask(x, ctx)
        assert mask.shape == (3, 112, 112) and abs(float(mask.norm()) - MASK_L2) <= 1e-3
        assert torch.equal(mask, method.person_mask(x, ctx))
        assert torch.equal(mask, method.person_mask(x.flip(0), ctx)) or torch.allclose(
            mask, method.person_mask(x.flip(0), ctx), atol=1e-6)  # the mean does not depend on the order
        assert not torch.allclose(mask, method.person_mask(inference(dataset, "q1"), ctx))
    card = method.card()
    assert card["departures"] and card["checkpoints"]["stage1"]["sha256"]


def test_advfaces_rescales_each_image_and_advfaces_plus_uses_the_stage_one_generator(dataset, surrogates):
    ctx = ProtectContext("dodge", surrogates)
    plus, faces, cloak = (fitted(n, dataset, surrogates) for n in ("advfaces-plus", "advfaces", "advcloak"))
    stage1 = plus.card()["checkpoints"]["stage1"]["sha256"]
    assert plus.fitted_state() == faces.fitted_state() == {"generator_sha256": stage1}
    assert cloak.fitted_state()["generator_sha256"] == cloak.card()["checkpoints"]["stage2-cos"]["sha256"] != stage1
    assert cloak.card()["checkpoints"]["stage1"]["sha256"] == stage1  # stage I trained once, shared
    x = inference(dataset, "q0")
    y = faces.protect(x, ctx)
    assert faces.scope == "image" and y.shape == x.shape and 0 <= y.min() and y.max() <= 1
    raw = plus.perturbations(x, torch.device("cpu"))
    expected = raw * (MASK_L2 / raw.flatten(1).norm(dim=1)).view(-1, 1, 1, 1)
    assert torch.allclose(y, (x + expected).clamp(0, 1), atol=1e-6)
    mean = raw.mean(0)
    assert torch.allclose(plus.person_mask(x, ctx), mean * MASK_L2 / mean.norm(), atol=1e-6)


def test_a_method_without_a_generator_or_surrogate_says_so(dataset):
    method = METHODS.get("advcloak")(profile="tiny", progress=False)
    with pytest.raises(BadInput, match="no trained generator"):
        method.person_mask(inference(dataset, "q0"), ProtectContext("dodge"))
    with pytest.raises(BadInput, match="surrogate"):
        method.fit(dataset.split("train"), [], "cpu")
    with pytest.raises(BadInput, match="unknown advcloak profile 'nope'"):
        METHODS.get("advcloak")(profile="nope")


def test_the_plan_and_the_card_say_what_runs():
    mini = METHODS.get("advcloak-convexhull")(profile="mini", progress=False)
    plan = mini.plan(33)
    assert f"stage I {MINI.stage1_steps} steps x 8 faces" in plan
    assert f"stage II (convex) {MINI.stage2_steps} steps x 2 x 8" in plan
    assert re.search(r"about \d+ CPU-min", plan)
    departures = " ".join(mini.card()["departures"])
    assert "ngf: 16 (paper: 64)" in departures and "stage2_lr: 1e-05 (paper: 2e-08)" in departures
    faster = METHODS.get("advcloak")(profile="mini", stage1_lr=1e-3, stage2_steps=20, progress=False)
    assert faster.profile.stage1_lr == 1e-3 and faster.profile.stage2_steps == 20 and faster.params["stage1_lr"] == 1e-3
    assert "stage1_lr: 0.001 (paper: 0.0001)" in " ".join(faster.card()["departures"])
    assert "stage II (cos) 20 steps" in faster.plan(33)
    with pytest.raises(BadInput, match="advcloak parameter stage1_lr must be a finite number in"):
        METHODS.get("advcloak")(stage1_lr="fast")
    with pytest.raises(BadInput, match=r"unknown parameter\(s\) \['ngf'\] for advcloak"):
        METHODS.get("advcloak")(ngf=8)
    paper = METHODS.get("advfaces")(profile="paper", progress=False)
    assert "GPU-hours" in paper.plan(33) and "stage II" not in paper.plan(33)
    assert not any(d.startswith("ngf") for d in paper.card()["departures"])


# ---------------------------------------------------------------------------------------------- end to end
@pytest.fixture
def private_cache(mini, embedded, monkeypatch, tmp_path):
    """A cache sharing the models and data of $FPBENCH_CACHE but not its generators, masks or protected images,
    with the `mini` profile made tiny (so `fpbench run` trains in seconds)."""
    from fpbench.cache import cache_dir
    from fpbench.data import load_dataset

    embedded("mobilefacenet")
    load_dataset("mini-1n-synthetic")  # built in the shared cache
    shared = cache_dir()
    for entry in ("data", "embeddings", "packages", "thresholds", "weights"):
        if (shared / entry).exists():
            (tmp_path / entry).symlink_to(shared / entry)
    monkeypatch.setenv("FPBENCH_CACHE", str(tmp_path))
    monkeypatch.setenv("FPBENCH_THREADS", "1")  # toy-sized steps are fastest on one thread, busy machine or not
    monkeypatch.setitem(profiles.PROFILES, "mini", replace(TINY, name="tiny-as-mini"))
    return tmp_path


def test_fpbench_run_identify_with_the_default_dataset_end_to_end(private_cache, monkeypatch, capsys, tmp_path):
    from fpbench.cli.main import main
    from fpbench.data import load_dataset
    from fpbench.runner import Runner
    from fpbench.spec import RunSpec

    seen = []
    cls = METHODS.get("advcloak")
    monkeypatch.setattr(cls, "person_mask", lambda self, images, ctx, original=cls.person_mask:
                        seen.append((ctx.identity, ctx.source_ids, len(images))) or original(self, images, ctx))
    assert main(["run", "--method", "advcloak", "--protocol", "identify", "--target", "arcface", "--no-quality",
                 "--quiet", "--out", str(tmp_path / "runs")]) == 0
    out = capsys.readouterr().out
    assert "advcloak (tiny-as-mini profile, ngf 2)" in out and "CPU-min" in out  # the plan, before training
    assert "advcloak on mini-1n-synthetic (1:N identification, protected probes)" in out and "T_cus" in out and "time on cpu" in out
    dataset = load_dataset("mini-1n-synthetic")
    roles = {r.id: (r.role, r.identity, r.split) for r in dataset.records}
    people = sorted({r.identity for r in dataset.select(role="probe")})
    assert sorted(i for i, _, _ in seen) == people  # one mask per protected person
    for identity, ids, n in seen:  # made from that person's inference photos only
        assert n == len(ids) == 10 and all(roles[i] == ("gallery", identity, "test") for i in ids)
    masks = list((private_cache / "masks").glob("advcloak-*/*.pt"))
    assert len(masks) == len(people)
    assert all(abs(float(torch.load(m, weights_only=True).norm()) - MASK_L2) <= 1e-3 for m in masks)
    assert list((private_cache / "methods" / "advcloak").glob("stage1-*/model.pt"))
    assert list((private_cache / "methods" / "advcloak").glob("stage2-cos-*/model.pt"))
    # AdvFaces (image-specific) re-uses the stage-I generator and reports T_gen per image
    result = Runner(RunSpec(method="advfaces", targets=("arcface",), dataset="mini-1n-synthetic", quality=False),
                    None, progress=False).execute()
    timing = result.card["mask_seconds"]
    assert "customise" not in timing and timing["generate"]["n"] == len(result.scores["source"].unique())
    assert timing["generate"]["device"] == "cpu"
    assert len(list((private_cache / "methods" / "advcloak").glob("stage1-*"))) == 1
    # `fpbench train` finds the cached stage I (nothing is trained again) and names its checkpoint
    capsys.readouterr()
    assert main(["train", "advfaces-plus", "--dataset", "mini-1n-synthetic", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "advfaces-plus (mini) trained on mini-1n-synthetic's split 'train': generator_sha256" in out
    assert "checkpoint: " + str(private_cache / "methods" / "advcloak" / "stage1-") in out


def test_identify_runs_default_to_mini_1n_synthetic_and_other_runs_to_mini():
    from fpbench.cli.main import build_parser
    from fpbench.cli.run import spec_from_args

    def dataset(*extra: str) -> str:
        return spec_from_args(build_parser().parse_args(["run", "--method", "advcloak", "--target", "arcface",
                                                         *extra])).dataset

    assert dataset("--protocol", "identify") == "mini-1n-synthetic"
    assert dataset() == "mini" and dataset("--protocol", "verify") == "mini"
    assert dataset("--protocol", "identify", "--dataset", "celeba") == "celeba"
    with pytest.raises(BadInput, match="unknown protocol 'nope'"):
        dataset("--protocol", "nope")


def test_the_run_view_prints_t_cus_and_t_gen_with_the_device():
    from fpbench.cli.run import timing_line

    card = {"mask_seconds": {"customise": {"mean": 0.0512, "n": 6, "device": "cpu"},
                             "generate": {"mean": 0.0004, "n": 33, "device": "cpu"}}}
    assert timing_line(card) == ("time on cpu: T_cus 0.0512 s (one person's mask, mean of 6); "
                                 "T_gen 0.0004 s (per image, mean of 33)")
    assert timing_line({"mask_seconds": None}) is None


def test_a_stage_two_override_reuses_stage_one_and_a_stage_one_override_does_not(fresh_cache):
    from fpbench.methods.advcloak.train import stage1_dir

    key = lambda p: stage1_dir(p, "ab" * 32, [], 0)  # noqa: E731
    assert key(replace(MINI, stage2_lr=1e-4, stage2_steps=120)) == key(MINI)
    assert key(replace(MINI, stage1_lr=1e-3)) != key(MINI)
