"""The identify protocol's two threat models (``--side probe|gallery``) and its default mask norm (person and
universal masks rescaled to L2 4.706 = AdvCloak's 1200 on 0-255 unless ``--mask-l2`` says otherwise)."""
from __future__ import annotations

import argparse

import numpy as np
import pytest
import torch

import fpbench.cache
from fpbench.data.dataset import FaceRecord
from fpbench.errors import BadInput
from fpbench.protocols.base import OneFace
from fpbench.protocols.identify import ADVCLOAK_MASK_L2, _rows
from fpbench.results.tables import build_table
from fpbench.runner import Runner
from fpbench.spec import RunSpec
from test_core_v2 import identify_dataset, spec


def mask_norms() -> list[float]:
    return sorted(float(torch.load(m, weights_only=True).norm()) for m in (fpbench.cache.cache_dir() / "masks").rglob("*.pt"))


# ------------------------------------------------------------------------- the default mask norm

def test_person_masks_default_to_advcloaks_norm_under_identify(fresh_cache, tmp_path):
    name = identify_dataset(tmp_path)
    default = Runner(spec(method="toy-person", dataset=name), None, progress=False)
    explicit = Runner(spec(method="toy-person", dataset=name, mask_l2=4.706), None, progress=False)
    assert default.spec == explicit.spec and default.spec.mask_l2 == ADVCLOAK_MASK_L2
    assert abs(ADVCLOAK_MASK_L2 - 1200 / 255) < 1e-3
    result = default.execute()
    assert result.card["mask_l2"] == 4.706 and "identify default" in result.card["protocol"]["mask_l2"]
    assert mask_norms() == pytest.approx([4.706, 4.706], abs=1e-4)


def test_mask_l2_none_turns_the_default_off_and_a_number_overrides_it(fresh_cache, tmp_path):
    name = identify_dataset(tmp_path)
    off = Runner(spec(method="toy-person", dataset=name, mask_l2="none"), None, progress=False).execute()
    assert off.card["mask_l2"] is None and off.card["protocol"]["mask_l2"] == "not rescaled (--mask-l2 none)"
    # the card's spec keeps "none", so re-running it (leaderboard check) is the same run, not the default
    assert off.card["spec"]["mask_l2"] == "none"
    again = Runner(RunSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in off.card["spec"].items()}),
                   None, progress=False)
    assert again.spec.mask_l2 == "none" and again.spec.mask_norm is None
    raw = mask_norms()
    assert len(raw) == 2 and all(abs(n - 4.706) > 0.1 for n in raw)  # the toy masks as the method makes them
    other = Runner(spec(method="toy-person", dataset=name, mask_l2=2.0), None, progress=False).execute()
    assert other.card["mask_l2"] == 2.0 and "by --mask-l2" in other.card["protocol"]["mask_l2"]


def test_image_scope_methods_and_other_protocols_keep_no_default(fresh_cache, tmp_path):
    name = identify_dataset(tmp_path)
    assert Runner(spec(method="none", dataset=name), None, progress=False).spec.mask_l2 is None
    # "none" where nothing would be rescaled anyway is the same run as no option
    assert Runner(spec(method="none", dataset=name, mask_l2="none"), None, progress=False).spec == \
        Runner(spec(method="none", dataset=name), None, progress=False).spec
    assert Runner(spec(), None, progress=False).spec.mask_l2 is None  # verify protocol


def test_mask_l2_values_on_the_command_line_and_in_specs():
    from fpbench.cli.run import mask_l2

    assert mask_l2("none") == "none" and mask_l2("1200/255") == pytest.approx(4.70588)
    with pytest.raises(BadInput, match="--mask-l2 must be a finite number > 0 or none, got fast"):
        spec(mask_l2="fast").validate()
    with pytest.raises(argparse.ArgumentTypeError, match="must be > 0 or none"):
        mask_l2("0")


# ------------------------------------------------------------------------------ --side gallery

def probes() -> list[OneFace]:
    return [OneFace(FaceRecord(f"a{i}", "alice", "probe")) for i in range(2)]


def unit(*v: float) -> np.ndarray:
    x = np.asarray(v, dtype=np.float64)
    return x / np.linalg.norm(x)


def test_gallery_side_searches_clean_probes_against_protected_genuines():
    """Photo a0's mask works (its embedding lands next to distractor d0), a1's does not (it stays clean). With
    the masked photo as the probe (AdvCloak) pair a0->a1 is protected; with the masked photo enrolled in the
    gallery (Fawkes) it is pair a1->a0, searched from the clean a1: the two sides protect opposite pairs."""
    clean = {"a0": unit(1, 0.1, 0), "a1": unit(1, 0, 0.1)}
    adv = np.stack([unit(0.1, 1, 0), clean["a1"]])  # a0 masked next to d0, a1 unchanged
    dis = np.stack([unit(0, 1, 0.05), unit(0.3, 0, 1)])
    hit = lambda side: {r["pair"]: r["hit1"] for r in _rows(probes(), adv, clean, dis, "t", "identity", False, side)}
    assert hit("probe") == {"a0|a1": False, "a1|a0": True}
    assert hit("gallery") == {"a0|a1": True, "a1|a0": False}
    rows = _rows(probes(), adv, clean, dis, "t", "identity", False, "gallery")
    assert {r["side"] for r in rows} == {"gallery"} and rows[1]["n_above"] == 1  # d0 beats the masked a0
    unmasked = {side: {r["pair"]: r["hit1"] for r in _rows(probes(), np.stack([clean["a0"], clean["a1"]]), clean,
                                                           dis, "t", "identity", False, side)}
                for side in ("probe", "gallery")}
    assert unmasked["probe"] == unmasked["gallery"] == {"a0|a1": True, "a1|a0": True}  # no mask: no difference


def test_gallery_side_run_records_and_shows_its_threat_model(fresh_cache, tmp_path, capsys):
    name = identify_dataset(tmp_path)
    result = Runner(spec(method="toy-person", dataset=name, side="gallery"), None, progress=False).execute()
    assert set(result.scores["side"]) == {"gallery"} and result.card["spec"]["side"] == "gallery"
    assert result.card["protocol"]["side"] == "gallery" and "Fawkes" in result.card["protocol"]["gallery"]
    assert "identify, protected gallery (dodge)" in build_table([result], ["top1"]).context
    probe = Runner(spec(method="toy-person", dataset=name), None, progress=False).execute()
    assert "side" not in probe.card["spec"] and probe.card["protocol"]["side"] == "probe"
    assert not probe.scores["similarity"].equals(result.scores["similarity"])
    from rich.console import Console

    from fpbench.cli.run import show_result

    console = Console(width=200)
    show_result(console, result)
    assert "protected gallery: clean probes (Fawkes threat model)" in capsys.readouterr().out


def test_gallery_side_needs_the_identify_protocol(fresh_cache):
    with pytest.raises(BadInput, match="protocol 'verify' protects the probe side only, not --side gallery"):
        Runner(spec(side="gallery"), None, progress=False)
    with pytest.raises(BadInput, match="unknown --side 'both'"):
        spec(side="both").validate()


def test_sweep_files_take_side_and_mask_l2_none(tmp_path):
    from fpbench.sweep import load_sweep

    path = tmp_path / "s.yaml"
    path.write_text("dataset: mini-1n-synthetic\nprotocol: identify\nside: gallery\nmask_l2: none\n"
                    "targets: [sface]\nmethods: [random-mask]\n")
    (s,) = load_sweep(path).specs
    assert s.side == "gallery" and s.mask_l2 == "none"
    path.write_text("dataset: mini-1n-synthetic\nside: sideways\ntargets: [sface]\nmethods: [random-mask]\n")
    with pytest.raises(BadInput, match=r"s\.yaml: unknown --side 'sideways'"):
        load_sweep(path)
