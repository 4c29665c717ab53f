"""Core v2: cache keys that hold every input and the fitted model, one-line errors for misbehaving methods,
pair-scoring targets with options, person/universal masks, the identify and authorise protocols, and sweeps
through executors."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from fpbench.data import DATASETS, FaceDataset, FaceRecord
from fpbench.errors import BadInput
from fpbench.methods import METHODS, Method
from fpbench.runner import Runner
from fpbench.spec import RunSpec
from fpbench.targets import TARGETS, PairTarget, make_target

# ------------------------------------------------------------------ toy methods, targets and data

TRAINING = {"salt": 0.1}  # stands for the training data / code a checkpoint depends on


@METHODS.register("toy-learned", "tests only: adds a constant learned in fit")
class Learned(Method):
    name = "toy-learned"
    needs = frozenset({"training"})

    def fit(self, train, surrogates, device, target=None) -> None:
        self.shift = TRAINING["salt"]

    def fitted_state(self, target_id: str = "") -> dict:
        return {"checkpoint": self.shift}

    def protect(self, x, ctx):
        return (x + self.shift).clamp(0, 1)


@METHODS.register("toy-blend-target", "tests only: blends each source with the target photo it is given")
class BlendTarget(Method):
    name = "toy-blend-target"
    needs = frozenset({"target_images"})

    def protect(self, x, ctx):
        return (x + ctx.target_images) / 2


@METHODS.register("toy-bad-shape", "tests only: returns the wrong shape")
class BadShape(Method):
    name = "toy-bad-shape"

    def protect(self, x, ctx):
        return x[:, :1]


SEEN: dict[str, list[tuple[str, ...]]] = {"person": []}


@METHODS.register("toy-person", "tests only: a person mask from the mean inference photo")
class PersonMask(Method):
    name = "toy-person"
    scope = "person"

    def person_mask(self, images, ctx):
        SEEN["person"].append(ctx.source_ids)
        return images.mean(0) - 0.5


@TARGETS.register("toy-pair", "tests only: compares two images by mean absolute difference")
def toy_pair(device, scale: str = "1") -> PairTarget:
    return ComparePair(float(scale))


class ComparePair(PairTarget):
    name = display = "toy-pair"
    calls = 0

    def __init__(self, scale: float) -> None:
        super().__init__()
        self.scale = scale

    def compare(self, a, b) -> float:
        ComparePair.calls += 1
        return 1.0 - self.scale * float((a - b).abs().mean())

    def thresholds(self):
        return {0.01: (0.9, {"source": "the vendor's documentation (toy)"}), 0.1: (0.8, {"source": "toy"})}


def write_face(path, seed: int, size: int = 112) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(path)


def register_dataset(name: str, tmp_path, target_seed: int) -> None:
    """source s1 (person a), target t (person b, the photo the method gets), gallery g (person b, the reference)."""
    faces = {"s1": ("a", "source", 1), "t": ("b", "target", target_seed), "g": ("b", "gallery", 3),
             "s2": ("a", "gallery", 4)}
    records = []
    for fid, (identity, role, seed) in faces.items():
        path = tmp_path / name / f"{fid}.png"
        write_face(path, seed)
        records.append(FaceRecord(fid, identity, role, "test", {112: path}))
    DATASETS.add(name, lambda records=records: FaceDataset(name, f"sha-{name}", records))


def spec(**kw) -> RunSpec:
    return RunSpec(**{"method": "toy-learned", "dataset": "toy-faces", "targets": ("toy-fr-a",), "quality": False,
                      "batch_size": 4, **kw})


# ------------------------------------------------------------------ cache keys

def test_protected_images_key_holds_the_fitted_checkpoint(fresh_cache):
    TRAINING["salt"] = 0.1
    first = Runner(spec(), None, progress=False).execute()
    again = Runner(spec(), None, progress=False).execute()
    assert first.card["work"]["protected"] > 0 and again.card["work"]["protected"] == 0
    TRAINING["salt"] = 0.2  # retrained on other data: the old protected images must not be re-used
    retrained = Runner(spec(), None, progress=False).execute()
    assert retrained.card["work"]["protected"] == first.card["work"]["protected"]
    assert not retrained.scores["similarity"].equals(first.scores["similarity"])


def test_protected_images_key_hashes_the_target_photo_the_method_saw(fresh_cache, tmp_path):
    register_dataset("keys-a", tmp_path, target_seed=2)
    register_dataset("keys-b", tmp_path, target_seed=5)  # same sources and references, another target photo
    run = lambda name: Runner(spec(method="toy-blend-target", dataset=name, targets=("toy-pair",)), None,
                              progress=False).execute()
    a, b = run("keys-a"), run("keys-b")
    assert a.card["work"]["protected"] == b.card["work"]["protected"] == 1
    assert a.scores["similarity"][0] != b.scores["similarity"][0]


def test_a_misbehaving_method_is_a_one_line_error_naming_it(fresh_cache):
    with pytest.raises(BadInput, match="method 'toy-bad-shape' misbehaved: protect returned shape"):
        Runner(spec(method="toy-bad-shape"), None, progress=False).execute()


def test_fit_sees_the_training_split_only_and_runs_once_per_run(fresh_cache):
    calls = []
    original = Learned.fit
    Learned.fit = lambda self, train, *a, **k: calls.append({r.split for r in train.records}) or original(self, train, *a, **k)
    try:
        result = Runner(spec(), None, progress=False).execute()
    finally:
        Learned.fit = original
    # once per impersonation target, never again while scoring; toy-faces has no training split: no test face
    assert calls == [set()] * result.scores["target_face"].nunique() and len(calls) == 2


# ------------------------------------------------------------------ targets that score pairs

def test_pair_target_caches_pair_scores_and_records_its_options(fresh_cache):
    ComparePair.calls = 0
    s = spec(method="none", targets=("toy-pair:scale=2",))
    first = Runner(s, None, progress=False).execute()
    assert ComparePair.calls == len(first.scores) > 0
    again = Runner(s, None, progress=False).execute()
    assert ComparePair.calls == len(first.scores) and again.scores.equals(first.scores)
    card = first.card["targets"][0]
    assert card["options"] == {"scale": "2"}
    assert first.card["thresholds"]["toy-pair"]["far"]["0.01"]["tau"] == 0.9


def test_unknown_target_option_lists_the_valid_ones_and_secrets_are_refused():
    with pytest.raises(BadInput, match=r"takes no option\(s\) \['colour'\]; valid: \['scale'\]"):
        make_target("toy-pair:colour=red")
    with pytest.raises(BadInput, match="'api_key' looks like a secret: set it in the environment"):
        make_target("toy-pair:api_key=SECRET123")


# ------------------------------------------------------------------ masks and the identify protocol

def identify_dataset(tmp_path) -> str:
    """Two people with 3 inference photos (gallery) and 3 probes each, and 4 distractors."""
    records = []
    k = 0
    for person in ("p1", "p2"):
        for role in ("gallery",) * 3 + ("probe",) * 3:
            k += 1
            path = tmp_path / "ident" / f"{person}_{k}.png"
            write_face(path, 100 + k)
            records.append(FaceRecord(f"{person}_{k}", person, role, "test", {112: path}))
    for d in range(4):
        path = tmp_path / "ident" / f"d{d}.png"
        write_face(path, 200 + d)
        records.append(FaceRecord(f"d{d}", f"other{d}", "distractor", "test", {112: path}))
    name = f"ident-{tmp_path.name}"
    DATASETS.add(name, lambda: FaceDataset(name, f"sha-{name}", records, protocol="opom-1toN"))
    return name


def test_person_masks_see_inference_photos_only_and_respect_mask_l2(fresh_cache, tmp_path):
    name = identify_dataset(tmp_path)
    SEEN["person"].clear()
    result = Runner(spec(method="toy-person", dataset=name, mask_l2=2.0), None, progress=False).execute()
    assert result.card["protocol_name"] == "identify" and result.card["spec"]["goal"] == "dodge"
    assert len(SEEN["person"]) == 2  # one mask per person
    probes = set(result.scores["source"])
    assert all(not probes & set(ids) and len(ids) == 3 for ids in SEEN["person"])
    assert result.card["mask_l2"] == 2.0 and result.card["mask_seconds"]["customise"]["n"] == 2
    import fpbench.cache

    masks = list((fpbench.cache.cache_dir() / "masks").rglob("*.pt"))
    assert len(masks) == 2
    assert all(abs(float(torch.load(m, weights_only=True).norm()) - 2.0) < 1e-4 for m in masks)


def test_inference_photos_makes_each_mask_from_the_first_k_photos(fresh_cache, tmp_path):
    name = identify_dataset(tmp_path)
    SEEN["person"].clear()
    result = Runner(spec(method="toy-person", dataset=name, inference_photos=2), None, progress=False).execute()
    assert sorted(map(len, SEEN["person"])) == [2, 2] and result.card["inference_photos"] == 2
    assert sorted(SEEN["person"]) == [("p1_1", "p1_2"), ("p2_7", "p2_8")]  # the first two of three, by id
    assert result.card["spec"]["inference_photos"] == 2
    with pytest.raises(BadInput, match="--inference-photos must be a whole number >= 1"):
        spec(method="toy-person", dataset=name, inference_photos=0).validate()


def test_identify_rows_count_distractors_above_the_genuine(fresh_cache, tmp_path):
    name = identify_dataset(tmp_path)
    result = Runner(spec(method="none", dataset=name), None, progress=False).execute()
    rows = result.scores
    assert set(rows["kind"]) == {"identification"} and len(rows) == 2 * 3 * 2  # ordered pairs per person
    target = make_target("toy-fr-a")
    ds = DATASETS.get(name)()
    by_id = {r.id: r for r in ds.records}
    e = lambda ids: target.embeddings(ds.images([by_id[i] for i in ids]))
    dis = e([f"d{d}" for d in range(4)])
    for _, r in rows.iterrows():
        p, g = e([r["source"]])[0], e([r["genuine"]])[0]
        assert r["n_above"] == int((dis @ p > p @ g).sum())
        assert r["hit1"] == (r["n_above"] < 1) and r["hit5"] == (r["n_above"] < 5)


def test_identify_refuses_compare_only_targets(fresh_cache, tmp_path):
    name = identify_dataset(tmp_path)
    with pytest.raises(BadInput, match="only compares pairs; the identify protocol searches a gallery"):
        Runner(spec(method="none", dataset=name, targets=("toy-pair",)), None, progress=False).execute()


# ------------------------------------------------------------------ the authorise protocol

def test_authorise_clean_accuracy_is_plain_verification_accuracy(fresh_cache):
    s = spec(method="none", protocol="authorise", authorised=("toy-fr-a",), targets=("toy-fr-a", "toy-fr-b"))
    result = Runner(s, None, progress=False).execute()
    rows = result.scores
    assert set(rows["kind"]) == {"authorised", "unauthorised", "authorised-kappa", "unauthorised-kappa"}
    kappa = rows[rows["kind"] == "authorised-kappa"]
    assert (kappa["self_similarity"] > 0.999).all()  # x~1 = x1
    assert kappa["correct"].tolist() == ((kappa["similarity"] > 0.2) == kappa["label"].astype(bool)).tolist()


def test_authorise_needs_authorised_targets_among_the_run_targets(fresh_cache):
    with pytest.raises(BadInput, match="--authorised 'sface' is not one of the run's targets"):
        Runner(spec(method="none", protocol="authorise", authorised=("sface",)), None, progress=False).execute()


def test_two_identical_runs_on_one_cache_do_the_work_once(plugin_env, tmp_path):
    import json
    import subprocess
    import sys

    args = [sys.executable, "-m", "fpbench.cli.main", "run", "--method", "pgd", "--steps", "3", "--dataset", "toy-faces",
            "--target", "toy-fr-a", "--surrogate", "toy-fr-b", "--no-quality", "--quiet"]
    procs = [subprocess.Popen(args + ["--out", str(tmp_path / f"out{k}")], env=plugin_env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for k in range(2)]
    for p in procs:
        assert p.wait(timeout=300) == 0, p.stderr.read().decode()
    cards = [json.loads(next((tmp_path / f"out{k}").glob("*/card.json")).read_text()) for k in range(2)]
    protected = sorted(c["work"]["protected"] for c in cards)
    embedded = sorted(c["work"]["embedded"] for c in cards)
    assert protected[0] == 0 and protected[1] == cards[0]["dataset"]["pairs"] and embedded[0] == 0 < embedded[1]


def test_target_lists_keep_each_targets_options_together():
    from fpbench.cli.options import target_list

    assert target_list("sface,mfn512") == ["sface", "mfn512"]
    assert target_list("tencent:retries=2,backoff=0.01,sface") == ["tencent:retries=2,backoff=0.01", "sface"]
    assert target_list("sface,facepp:qps=1,max_requests=5") == ["sface", "facepp:qps=1,max_requests=5"]
