"""The run pipeline for a reversible method: ESR with the right key and with a wrong key, restored-image
quality, the unperturbed reference, and resuming when protected images are cached but restorations are not."""
from __future__ import annotations

import shutil
from typing import Sequence

import pytest
import torch

from fpbench.cache import cache_dir
from fpbench.errors import BadInput
from fpbench.methods import METHODS, Method, ProtectContext
from fpbench.runner import Runner
from fpbench.spec import RunSpec


@METHODS.register("toy-keyed", "tests only: reversible keyed blend, one key per impersonation target")
class KeyedBlend(Method):
    """y = (x + key) / 2 with a key image per target (``fit``); restore: 2y - key. Its unperturbed output
    is the blend with mid-grey instead of the key."""

    name = "toy-keyed"
    needs = frozenset({"target_images", "training"})
    reversible = True

    def __init__(self) -> None:
        super().__init__()
        self.keys: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}  # target id -> (target image, key)
        self.fits = 0

    def fit(self, train, surrogates: Sequence, device, target=None) -> None:
        self.fits += 1
        assert all(r.split == "train" for r in train.records), "fit must see the training split only"
        gen = torch.Generator().manual_seed(sum(map(ord, target.id)))
        self.keys[target.id] = (target.images, torch.rand(1, 3, 112, 112, generator=gen))

    def fitted_state(self, target_id: str = "") -> dict:
        return {"key_sum": float(self.keys[target_id][1].sum())} if target_id in self.keys else {}

    def _key(self, ctx: ProtectContext, wrong: bool = False) -> torch.Tensor:
        ids = sorted(self.keys)
        rows = []
        for tid in ctx.target_ids:  # routed by id (contract v2), never by pixels
            rows.append(self.keys[ids[(ids.index(tid) + 1) % len(ids)] if wrong else tid][1][0])
        return torch.stack(rows)

    def protect(self, x, ctx):
        return (x + self._key(ctx)) / 2

    def restore(self, x, ctx=None):
        return (2 * x - self._key(ctx)).clamp(0, 1)

    def restore_with_wrong_key(self, x, ctx=None):
        return (2 * x - self._key(ctx, wrong=True)).clamp(0, 1)

    def unperturbed(self, x, ctx):
        return (x + 0.5) / 2


def toy_spec(**kw) -> RunSpec:
    return RunSpec(**{"method": "toy-keyed", "dataset": "toy-faces", "targets": ("toy-fr-a",), "quality": False,
                      "batch_size": 4, **kw})


def rows(result, kind: str):
    return result.scores[result.scores["kind"] == kind].reset_index(drop=True)


def test_right_key_restores_the_clean_face_and_a_wrong_key_does_not(fresh_cache, tmp_path):
    result = Runner(toy_spec(), tmp_path / "runs", progress=False).execute()
    clean = Runner(toy_spec(method="none"), None, progress=False).execute()
    right, wrong = rows(result, "erasion"), rows(result, "erasion-wrong-key")
    assert len(right) == len(wrong) == len(rows(result, "impersonation")) > 0
    # the right key gives back the clean face up to 8-bit rounding: same similarity to the target as clean
    sim_clean = rows(clean, "impersonation")["similarity"]
    right_err, wrong_err = (right["similarity"] - sim_clean).abs(), (wrong["similarity"] - sim_clean).abs()
    assert right_err.max() < 0.005 and wrong_err.mean() > 5 * right_err.mean()
    assert result.table(fmt="csv").splitlines()[0] == "target,ASR,ESR,ESR_WRONG,RVR"
    assert result.card["work"]["restored"] == 2 * len(right)


def test_restored_faces_are_verified_against_the_source_person(fresh_cache):
    """RVR: cos(FR(x_rec), FR(another photo of the source)) above the FAR threshold. With the right key the
    restored face is the clean one, so its similarities are the clean source's to that photo."""
    from fpbench.data import load_dataset
    from fpbench.protocols.verify import make_pairs
    from fpbench.targets import make_target

    result = Runner(toy_spec(), None, progress=False).execute()
    restoration = rows(result, "restoration")
    pairs = make_pairs(load_dataset("toy-faces"), "impersonate")
    assert list(restoration["pair"]) == [p.id for p in pairs]
    assert all(p.source_reference.identity == p.source.identity != p.target.identity for p in pairs)
    assert result.card["protocol"]["restored_compared_with"] == {
        "another photo of the same person": len(pairs), "the clean source itself": 0}
    dataset, model = load_dataset("toy-faces"), make_target("toy-fr-a", "cpu")
    e_src = model.embed(dataset.images([p.source for p in pairs], 112))
    e_ref = model.embed(dataset.images([p.source_reference for p in pairs], 112))
    expected = (e_src * e_ref).sum(1).numpy()
    assert abs(restoration["similarity"].to_numpy() - expected).max() < 0.005
    tau = result.card["thresholds"]["toy-fr-a"]["far"]["0.01"]["tau"]
    assert (restoration["success"] == (restoration["similarity"] > tau)).all()


def test_restorations_are_cached_and_made_after_the_fact(fresh_cache, tmp_path):
    first = Runner(toy_spec(), None, progress=False).execute()
    shutil.rmtree(cache_dir() / "restored")  # protected images stay cached
    runner = Runner(toy_spec(), None, progress=False)
    again = runner.execute()
    assert again.card["work"]["protected"] == 0 and again.card["work"]["restored"] == first.card["work"]["restored"]
    assert runner.method.fits == 2  # both targets: the wrong key of one is the other's
    assert again.scores.equals(first.scores)
    third = Runner(toy_spec(), None, progress=False).execute()
    assert third.card["work"] == {"protected": 0, "restored": 0, "embedded": 0}


def test_quality_compares_each_image_set_with_its_reference(fresh_cache):
    from fpbench.pipeline.executors import SerialExecutor
    from fpbench.pipeline.fit import run_fit
    from fpbench.pipeline.protect import run_protect
    from fpbench.pipeline.quality import quality_sets

    state = Runner(toy_spec(), None, progress=False).load_state()
    run_fit(state, SerialExecutor())
    protected = run_protect(state, SerialExecutor())
    dataset, pairs = state.dataset, state.items
    made = list(quality_sets(state, protected))
    sets = {name: (x, ref) for name, x, ref, _, _ in made}
    assert list(sets) == ["protected", "protected vs edited", "restored"]
    clean = dataset.images([p.source for p in pairs], 112)
    x, ref = sets["protected vs edited"]
    assert torch.equal(sets["protected"][1], clean) and torch.equal(sets["restored"][1], clean)
    assert (ref - (clean + 0.5) / 2).abs().max() <= 0.5 / 255 + 1e-6  # the unperturbed output, 8-bit stored
    assert (sets["restored"][0] - clean).abs().max() <= 2 / 255 + 1e-6
    # every quality row names its image and its reference, files that hold those very images
    for name, x, ref, _, (files, ref_files) in made:
        assert len(files) == len(ref_files) == len(pairs)
        assert torch.equal(load_files(files), x) and torch.equal(load_files(ref_files), ref), name


def load_files(names) -> torch.Tensor:
    from fpbench.images import from_uint8, read_image
    from fpbench.results.files import resolve

    return torch.cat([from_uint8(read_image(resolve(n))) for n in names])


def test_score_rows_name_the_files_of_their_images(fresh_cache, tmp_path, capsys):
    from PIL import Image

    from fpbench.cli.main import main
    from fpbench.data import load_dataset
    from fpbench.protocols.verify import make_pairs

    result = Runner(toy_spec(transforms=("identity", "jpeg50")), tmp_path / "runs", progress=False).execute()
    s = result.scores
    pairs = {p.id: p for p in make_pairs(load_dataset("toy-faces"), "impersonate")}
    imp = s[(s["kind"] == "impersonation") & (s["transform"] == "identity")]
    dataset = load_dataset("toy-faces")
    assert torch.equal(load_files(imp["clean_file"]), dataset.images([pairs[p].source for p in imp["pair"]], 112))
    references = dataset.images([pairs[p].reference for p in imp["pair"]], 112)
    assert torch.equal(load_files(imp["reference_file"]), references)
    assert imp["protected_file"].str.startswith("protected/").all() and (imp["restored_file"] == "").all()
    for kind in ("erasion", "erasion-wrong-key", "restoration"):
        assert s[s["kind"] == kind]["restored_file"].map(lambda n: (fresh_cache / n).is_file()).all(), kind
    erasion = s[s["kind"] == "erasion"]
    per_transform = erasion.groupby("transform")["restored_file"].nunique().to_dict()
    assert per_transform == {"identity": len(pairs), "jpeg50": len(pairs)}
    rvr = s[(s["kind"] == "restoration") & (s["transform"] == "identity")]
    assert torch.equal(load_files(rvr["reference_file"]),
                       dataset.images([pairs[p].source_reference for p in rvr["pair"]], 112))
    # fpbench show: a sheet of the first pairs (clean, protected, restored, reference) and the export
    assert main(["show", str(result.path), "--pairs", "2", "--out", str(tmp_path / "sheet.png"),
                 "--export", str(tmp_path / "export")]) == 0
    with Image.open(tmp_path / "sheet.png") as sheet:
        assert sheet.width == 4 * 128 and sheet.height > 2 * 128
    exported = sorted(p.name for p in (tmp_path / "export").iterdir())
    assert len(exported) == len(pairs) and all("_to_" in n and n.endswith(".png") for n in exported)
    assert main(["show", str(result.path), "--transform", "gauss9"]) == 2
    assert "no protection scores under transform 'gauss9'" in capsys.readouterr().err


def test_a_method_refuses_a_goal_it_is_not_made_for():
    with pytest.raises(BadInput, match="'erasablemask' is made for --goal impersonate, not 'dodge'"):
        Runner(RunSpec(method="erasablemask", targets=("sface",), goal="dodge"), None, progress=False)
