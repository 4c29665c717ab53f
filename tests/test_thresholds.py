"""FAR thresholds: pair formation, published thresholds for paper models, stored calibrations with
provenance, and how model names resolve."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from fpbench import __version__
from fpbench.cache import write_json
from fpbench.errors import BadInput
from fpbench.metrics.thresholds import NotEnoughScores, threshold_at_far
from fpbench.registry import UnknownName
from fpbench.thresholds import (FARS, Calibration, calibrate, calibrate_embeddings,
                                calibration_path, pair_scores, threshold_for, thresholds_from_scores)
from fpbench.zoo import MissingWeights, load
from fpbench.zoo.names import available_targets, resolve
from fpbench.zoo.paper import PUBLISHED_SOURCE
from fpbench.zoo.user import add_weights
from zoo_helpers import save, synthetic_state_dict, tiny_dataset, user_cache_fixture

user_cache = pytest.fixture(user_cache_fixture)


def test_hand_made_scores_give_known_thresholds() -> None:
    impostor = np.arange(1000) / 1000.0  # 0.000 ... 0.999
    genuine = np.array([0.95, 0.5, 0.995, 0.999])
    est, skipped = thresholds_from_scores(impostor, genuine, FARS)
    assert not skipped
    # accept when score > tau: 100 / 10 / 1 impostors lie above 0.899 / 0.989 / 0.998
    assert {far: round(e.tau, 6) for far, e in est.items()} == {0.1: 0.899, 0.01: 0.989, 0.001: 0.998}
    assert {far: e.tar for far, e in est.items()} == {0.1: 0.75, 0.01: 0.5, 0.001: 0.25}
    assert all(e.n_impostor == 1000 and e.n_genuine == 4 and e.ci_lo <= e.tau <= e.ci_hi for e in est.values())


def test_too_few_impostor_pairs_are_skipped_or_refused() -> None:
    est, skipped = thresholds_from_scores(np.linspace(0, 1, 50), np.array([]), FARS)
    assert list(est) == [0.1] and est[0.1].tar is None and sorted(skipped) == [0.001, 0.01]
    emb = np.eye(4)
    with pytest.raises(NotEnoughScores, match="FAR 0.1 needs at least 10 impostor scores, got 6"):
        calibrate_embeddings(emb, ["a", "b", "c", "d"], fars=(0.1,))
    with pytest.raises(BadInput, match="at least two identities"):
        calibrate_embeddings(emb, ["a"] * 4)


def test_pairs_are_formed_by_identity() -> None:
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(9, 5))
    ids = ["a", "a", "b", "b", "b", "c", "d", "d", "e"]
    impostor, genuine = pair_scores(emb, ids)
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    pairs = [(i, j) for i in range(9) for j in range(i + 1, 9)]
    want_imp = sorted(unit[i] @ unit[j] for i, j in pairs if ids[i] != ids[j])
    want_gen = sorted(unit[i] @ unit[j] for i, j in pairs if ids[i] == ids[j])
    assert len(genuine) == 1 + 3 + 1 and len(impostor) == 36 - 5
    np.testing.assert_allclose(sorted(impostor), want_imp, atol=1e-12)
    np.testing.assert_allclose(sorted(genuine), want_gen, atol=1e-12)
    blocked = pair_scores(emb, ids, block=2)  # rows in blocks give the same pairs in the same order
    np.testing.assert_allclose(blocked[0], impostor, atol=1e-12)
    np.testing.assert_allclose(blocked[1], genuine, atol=1e-12)
    sub, _ = pair_scores(emb, ids, max_impostor_pairs=10, seed=3)
    assert len(sub) == 10 and set(np.round(sub, 12)) <= set(np.round(impostor, 12))
    np.testing.assert_array_equal(sub, pair_scores(emb, ids, max_impostor_pairs=10, seed=3)[0])


def test_calibrated_threshold_meets_its_far() -> None:
    rng = np.random.default_rng(1)
    emb = rng.normal(size=(60, 8))
    ids = [str(i // 3) for i in range(60)]
    est = calibrate_embeddings(emb, ids, fars=(0.1, 0.01))
    impostor, _ = pair_scores(emb, ids)
    for far, e in est.items():
        assert (impostor > e.tau).mean() <= far < (impostor >= e.tau).mean()


def test_calibration_is_stored_with_provenance_and_used(user_cache, tmp_path) -> None:
    add_weights("tiny", save(synthetic_state_dict("mobilefacenet512", bn_from_data=True), tmp_path / "tiny.pth"),
                arch="mobilefacenet512")
    dataset = tiny_dataset(tmp_path)
    cal = calibrate("tiny", dataset, batch_size=5)
    sha = load("tiny").card.weights_sha256

    # 12 faces of 6 people: 6 genuine and 60 impostor pairs; FAR 0.01 / 0.001 need 100 / 1000 impostors
    assert (cal.model, cal.dataset, cal.weights_sha256, cal.n_faces, cal.n_identities) == ("tiny", "tinyset", sha, 12, 6)
    assert (cal.n_impostor, cal.n_genuine) == (60, 6) and list(cal.estimates) == [0.1] and sorted(cal.skipped) == [0.001, 0.01]
    model = load("tiny")
    with torch.no_grad():
        emb = model(dataset.images(dataset.records)).numpy()
    impostor, genuine = pair_scores(emb, [r.identity for r in dataset.records])
    assert impostor.std() > 0.01  # the synthetic model tells the images apart
    assert cal.at(0.1).tau == pytest.approx(threshold_at_far(impostor, 0.1, genuine).tau, abs=1e-6)
    assert cal.at(0.1).tar == threshold_at_far(impostor, 0.1, genuine).tar

    stored = json.loads(calibration_path("tiny", "tinyset").read_text())
    assert cal.path == calibration_path("tiny", "tinyset")
    assert {k: stored[k] for k in ("model", "weights_sha256", "dataset", "manifest_sha256", "n_impostor", "n_genuine",
                                   "fpbench_version")} == {
        "model": "tiny", "weights_sha256": sha, "dataset": "tinyset", "manifest_sha256": "ab" * 32,
        "n_impostor": 60, "n_genuine": 6, "fpbench_version": __version__}
    assert set(stored["estimates"]["0.1"]) == {"tau", "far", "tar", "n_impostor", "n_genuine", "ci_lo", "ci_hi"}
    assert stored["date"] and set(stored["skipped"]) == {"0.01", "0.001"}
    again = Calibration.from_dict(stored, path=cal.path)
    assert again.to_dict() == cal.to_dict() and again.estimates == cal.estimates

    tau, prov = threshold_for("tiny", 0.1, "tinyset")
    assert tau == cal.at(0.1).tau
    assert prov["kind"] == "calibrated" and prov["n_impostor"] == 60 and prov["weights_sha256"] == sha
    assert prov["same_dataset_as_run"] is True and prov["manifest_sha256"] == "ab" * 32
    assert threshold_for("tiny", 0.01) is None
    assert threshold_for("tiny", 0.1, "tinyset", "ab" * 32)[0] == tau
    assert threshold_for("tiny", 0.1, "tinyset", "cd" * 32) is None  # an older version of the run's dataset: stale

    # the stored calibration with the most impostor pairs wins; other weights' calibrations are ignored
    big = Calibration.from_dict({**stored, "dataset": "big", "estimates": {
        "0.1": {**stored["estimates"]["0.1"], "tau": 0.5, "n_impostor": 5000}}})
    other = Calibration.from_dict({**big.to_dict(), "dataset": "other", "weights_sha256": "0" * 64,
                                   "estimates": {"0.1": {**big.to_dict()["estimates"]["0.1"], "n_impostor": 9000}}})
    for c in (big, other):
        write_json(calibration_path("tiny", c.dataset), c.to_dict())
    tau, prov = threshold_for("tiny", 0.1, "tinyset")
    assert (tau, prov["dataset"], prov["same_dataset_as_run"]) == (0.5, "big", False)

    # new weights under the same name: no stored calibration applies any more
    add_weights("tiny", save(synthetic_state_dict("mobilefacenet512", seed=1), tmp_path / "tiny2.pth"), arch="mobilefacenet512")
    assert threshold_for("tiny", 0.1) is None


def test_published_thresholds_only_for_paper_models_with_user_weights(user_cache, tmp_path) -> None:
    assert threshold_for("mobileface", 0.01) is None
    assert threshold_for("ir152", 0.01) is None
    add_weights("mobileface", save(synthetic_state_dict("mobilefacenet512"), tmp_path / "mobile_face.pth"))
    for name in ("mobileface", "mobile_face"):
        tau, prov = threshold_for(name, 0.01)
        assert tau == 0.301611 and prov["source"] == PUBLISHED_SOURCE and prov["kind"] == "published"
    assert threshold_for("mobileface", 0.001)[0] == 0.380878
    assert threshold_for("mobileface", 0.05) is None  # no published value at that FAR, nothing calibrated


def test_arcface_falls_back_visibly(user_cache) -> None:
    r = resolve("arcface")
    assert (r.requested, r.zoo_name, r.display) == ("arcface", "mobilefacenet", "arcface[mobilefacenet]")
    assert "arcface" in available_targets() and "cosface" not in available_targets()


@pytest.mark.parametrize("name", ["cosface", "ir152", "irse50", "facenet", "mobileface", "mobile_face"])
def test_paper_names_without_weights_say_how_to_add_them(user_cache, name: str) -> None:
    with pytest.raises(MissingWeights) as e:
        resolve(name)
    msg = str(e.value)
    key = "mobileface" if name == "mobile_face" else name
    assert f"`fpbench zoo add {key} --weights FILE`" in msg and "embedded models usable instead: " in msg
    assert "\n" not in msg


def test_unknown_name_lists_available(user_cache) -> None:
    with pytest.raises(UnknownName, match=r"unknown model 'arcfce'; available: .*arcface"):
        resolve("arcfce")


def test_user_weights_take_over_paper_names(user_cache, tmp_path) -> None:
    add_weights("mobileface", save(synthetic_state_dict("mobilefacenet512"), tmp_path / "m.pth"))
    assert resolve("mobile_face").zoo_name == "mobileface"
    assert {"mobileface", "mobile_face"} <= set(available_targets())
