"""The mini-1n-synthetic dataset (spec A5.1): deterministic variants, roles and counts, the note every card and
table carries, the real-photo subset, and a clean `fpbench run` on it."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from fpbench.cache import file_sha256
from fpbench.cli.main import main
from fpbench.data import load_dataset
from fpbench.data.mini1n import DEFAULT_PROTECTED, NOTE, load_mini_1n
from fpbench.data.variants import apply, draw, variant_rng
from fpbench.errors import BadInput


@pytest.fixture(scope="module")
def synthetic(mini):
    return load_dataset("mini-1n-synthetic")


def crops(dataset) -> dict[str, str]:
    return {r.id: file_sha256(r.crops[112]) for r in dataset.records}


def test_roles_and_counts_follow_the_spec(synthetic, mini):
    roles = Counter((r.role, r.split) for r in synthetic.records)
    assert roles == {("gallery", "test"): 60, ("probe", "test"): 6 * 5 + 3, ("distractor", "test"): 26 * 5,
                     ("train", "train"): 19}
    protected = {r.identity for r in mini.records if r.id in DEFAULT_PROTECTED}
    assert {"barack_obama", "albert_einstein"} <= protected and len(protected) == 6
    per_person = Counter((r.identity, r.role) for r in synthetic.records if r.identity in protected)
    assert all(per_person[(p, "gallery")] == 10 for p in protected)
    assert per_person[("barack_obama", "probe")] == 7 and per_person[("albert_einstein", "probe")] == 6
    assert not {r.identity for r in synthetic.select(role="distractor")} & protected
    assert synthetic.protocol == "identification" and synthetic.note == NOTE == "synthetic intra-class variation"


def test_build_is_deterministic_and_seeded(synthetic, mini):
    again = load_mini_1n("default", seed=0, name="mini-1n-synthetic-rebuilt")
    assert crops(again) == crops(synthetic)
    other = crops(load_mini_1n("default", seed=1, name="mini-1n-synthetic-seed1"))
    same = crops(synthetic)
    changed = [i for i in same if other[i] != same[i]]
    real = {r.id for r in synthetic.records if r.id.count(".") == 0 or (r.id.count(".") == 1 and r.id.startswith(("d.", "train.")))}
    assert len(real) == 3 + 26 + 19
    assert set(same) - set(changed) == real  # every variant depends on the seed, real photos do not


def test_inference_and_test_families_are_disjoint():
    inference = [draw("I", variant_rng(0, "obama", f"I/{k}")) for k in range(50)]
    test = [draw("T", variant_rng(0, "obama", f"T/{k}")) for k in range(50)]
    assert all(abs(p.rotation) <= 5 and 0.95 <= p.scale <= 1.05 and p.jpeg is None and p.blur == 0 for p in inference)
    assert all(6 <= abs(p.rotation) <= 10 and p.scale in (0.9, 1.1) and 60 <= p.jpeg <= 80 and 0.5 <= p.blur <= 1
               for p in test)
    crop = np.random.default_rng(0).integers(0, 256, (112, 112, 3), dtype=np.uint8)
    assert np.array_equal(apply(crop, test[0]), apply(crop, test[0])) and apply(crop, test[0]).shape == crop.shape


def test_without_the_mini_set_the_error_says_how_to_prepare_it(fresh_cache):
    from fpbench.data import NotPrepared

    with pytest.raises(NotPrepared, match="built from the mini set, which is not prepared: run `fpbench setup`"):
        load_dataset("mini-1n-synthetic")


def test_unknown_identities_option_is_a_one_line_error(mini):
    with pytest.raises(BadInput, match="identities='some' is not valid"):
        load_mini_1n("some", name="mini-1n-synthetic-bad")


def test_clean_run_prints_topk_and_the_note_and_reports_real_photos(synthetic, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["run", "--method", "none", "--dataset", "mini-1n-synthetic", "--target", "mobilefacenet",
                 "--no-quality", "--quiet", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Top-1 prot. %" in out and "Top-5 prot. %" in out and "Top-1 prot. real %" in out
    assert "data: synthetic intra-class variation (mini-1n-synthetic)" in out
    run = next(tmp_path.glob("*/card.json")).parent
    scores = pd.read_parquet(run / "scores.parquet")
    assert len(scores) == 6 * 5 * 4 + 7 * 6 - 5 * 4 + 6 * 5 - 5 * 4  # synthetic pairs + pairs with a real photo
    assert (~scores["same_photo"]).sum() == 32 and scores["hit1_real"].notna().sum() == 32
    assert scores["hit1"].mean() >= 0.9  # spec A6.1: clean probes are found
    assert main(["table", str(run), "--format", "csv"]) == 0
    assert "mini-1n-synthetic: synthetic intra-class variation" in capsys.readouterr().out



def test_the_build_is_the_same_bytes_at_any_thread_count(mini):
    """The set is built wherever it is first used, at the caller's thread count; built at 1 and at 2 threads,
    one distractor variant (grace_hopper.i3) differed before the variants were computed with a fixed count."""
    import torch

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = crops(load_mini_1n("default", seed=0, name="mini-1n-synthetic-t1"))
        torch.set_num_threads(2)
        two = crops(load_mini_1n("default", seed=0, name="mini-1n-synthetic-t2"))
    finally:
        torch.set_num_threads(before)
    assert one == two
