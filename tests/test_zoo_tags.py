"""``name.tag``: other weights of a zoo model's architecture (user checkpoints, derived weights), one registry
entry each, listed by `fpbench zoo list`, kept across processes."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from fpbench.cli.main import main
from fpbench.errors import BadInput
from fpbench.thresholds import threshold_for
from fpbench.zoo import ZOO, DerivedFrom, MissingWeights, UserFile, load
from fpbench.zoo.integrity import weights_path
from fpbench.zoo.names import available_targets, resolve
from fpbench.zoo.user import add_derived, add_weights
from zoo_helpers import save, synthetic_state_dict, user_cache_fixture

user_cache = pytest.fixture(user_cache_fixture)


def _random_weights(name: str, seed: int = 0) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    return ZOO.get(name).arch.build().state_dict()


def test_tag_of_a_paper_model(user_cache, tmp_path) -> None:
    path = save(synthetic_state_dict("mobilefacenet512"), tmp_path / "other.pth")
    entry = add_weights("mobile_face.other", path)  # the alias of the base is understood
    assert (entry.name, entry.base, entry.tag) == ("mobileface.other", "mobileface", "other")
    assert entry.arch.name == "mobilefacenet512" and entry.cfg.source == UserFile("other.pth", entry.cfg.source.file_sha256)
    assert entry.card.thresholds == {}  # the published LFW thresholds are for the paper's own checkpoint
    assert threshold_for("mobileface.other", 0.01) is None
    assert resolve("mobileface.other").zoo_name == "mobileface.other" and "mobileface.other" in available_targets()
    with pytest.raises(MissingWeights):  # the base itself still has no weights
        resolve("mobileface")
    with pytest.raises(BadInput, match="must be mobilefacenet512, not ir152"):
        add_weights("mobileface.x", path, arch="ir152")


def test_tag_of_an_embedded_model_gets_its_architecture_and_input(user_cache, tmp_path) -> None:
    path = save(_random_weights("mfn512"), tmp_path / "mine.pth")
    entry = add_weights("mfn512.mine", path)
    assert entry.arch is ZOO.get("mfn512").arch and entry.cfg.input == ZOO.get("mfn512").cfg.input
    model = load("mfn512.mine")
    assert model.card.name == "mfn512.mine" and model.spec.channels == "BGR"
    with pytest.raises(BadInput, match="is a tag of mfn512, whose architecture is mfn512, not irse50"):
        add_weights("mfn512.mine", path, arch="irse50")
    with pytest.raises(BadInput, match="is an embedded zoo model"):
        add_weights("mfn512", path, arch="mobilefacenet512")
    with pytest.raises(BadInput, match="'nothere' is not a zoo model, so it has no tags"):
        add_weights("nothere.mine", path)
    with pytest.raises(BadInput, match="one '.' before a tag"):
        add_weights("mfn512.mine.again", path)


def test_derived_weights_are_a_tag_refused_when_changed(user_cache, tmp_path) -> None:
    entry = add_derived("mobilefacenet.at-test", _random_weights("mobilefacenet"), "PGD adversarial fine-tuning (test)")
    assert entry.cfg.source == DerivedFrom("mobilefacenet", "PGD adversarial fine-tuning (test)")
    assert entry.card.source == "derived from mobilefacenet: PGD adversarial fine-tuning (test)"
    assert entry.cfg.input == ZOO.get("mobilefacenet").cfg.input and entry.cfg.thresholds is None
    assert load("mobilefacenet.at-test").card.weights_sha256 == entry.cfg.weights_sha256
    with pytest.raises(BadInput, match="need a name BASE.TAG"):
        add_derived("mobilefacenet", _random_weights("mobilefacenet"), "x")
    sd = torch.load(weights_path("mobilefacenet.at-test"), weights_only=True)
    next(iter(sd.values())).zero_()
    torch.save(sd, weights_path("mobilefacenet.at-test"))
    st = weights_path("mobilefacenet.at-test").stat()
    os.utime(weights_path("mobilefacenet.at-test"), ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    with pytest.raises(BadInput, match="cached weights of mobilefacenet.at-test have sha256"):
        load("mobilefacenet.at-test")


def test_tags_are_listed_and_survive_a_new_process(user_cache, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("COLUMNS", "240")
    add_weights("base-model", save(synthetic_state_dict("mobilefacenet512"), tmp_path / "b.pth"), arch="mobilefacenet512")
    add_weights("base-model.v2", save(synthetic_state_dict("mobilefacenet512", seed=1), tmp_path / "b2.pth"))
    assert ZOO.get("base-model.v2").arch.name == "mobilefacenet512"
    main(["zoo", "list"])
    rows = {line.split("│")[1].strip(): line.split("│") for line in capsys.readouterr().out.splitlines()
            if line.startswith("│")}
    assert rows["base-model.v2"][2].strip() == "v2" and rows["base-model"][2].strip() == "default"
    assert rows["sface"][2].strip() == "default" and "user file b2.pth" in rows["base-model.v2"][6]

    env = {**os.environ, "FPBENCH_CACHE": str(user_cache), "COLUMNS": "240"}
    out = subprocess.run([sys.executable, "-m", "fpbench.cli.main", "zoo", "list"], env=env, capture_output=True,
                         text=True, check=True).stdout
    assert "│ base-model.v2 " in out and "│ base-model " in out
