"""`fpbench zoo list|card|add|verify|fetch` and `fpbench calibrate` through the real entry point."""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch

import fpbench.data
from fpbench.cli.main import main
from fpbench.thresholds import calibration_path
from fpbench.zoo import load
from fpbench.zoo import verify as verify_mod
from fpbench.zoo.catalog import weights_path
from fpbench.zoo.golden import golden_batch, golden_inputs
from zoo_helpers import save, synthetic_state_dict, tiny_dataset, user_cache_fixture

user_cache = pytest.fixture(user_cache_fixture)


@pytest.fixture
def wide(monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "240")  # rich tables on one line per row


def test_list_shows_paper_models_as_missing(user_cache, wide, capsys) -> None:
    assert main(["zoo", "list"]) == 0
    out = capsys.readouterr().out
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.startswith("│")}
    assert {"arcface", "cosface", "ir152", "irse50", "facenet", "mobileface", "mobilefacenet"} <= set(rows)
    assert "IR-SE-50" in rows["irse50"] and "bring your own: fpbench zoo add" in rows["irse50"]
    assert "missing" in rows["irse50"] and "160 RGB" in rows["facenet"]


def test_add_then_list_card_verify(user_cache, wide, tmp_path, capsys) -> None:
    path = save(synthetic_state_dict("mobilefacenet512"), tmp_path / "mobile_face.pth")
    assert main(["zoo", "add", "mobileface", "--weights", str(path)]) == 0
    out = capsys.readouterr().out
    assert "added mobileface: MobileFaceNet-512, 512-d, input 112" in out and "verified" in out

    main(["zoo", "list"])
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("│ mobileface "))
    assert "user file mobile_face.pth" in row and "verified" in row

    assert main(["zoo", "card", "mobileface", "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["source"] == "user file mobile_face.pth" and len(card["weights_sha256"]) == 64
    assert card["thresholds"]["far"] == {"0.1": 0.183635, "0.01": 0.301611, "0.001": 0.380878}
    assert card["input"]["size"] == 112 and card["input"]["mean"] == [0.5, 0.5, 0.5]

    assert main(["zoo", "card", "mobileface"]) == 0
    panel = capsys.readouterr().out
    assert "model card: mobileface" in panel and "Adv-Makeup/AMT-GAN test code (LFW)" in panel

    assert main(["zoo", "verify", "mobileface"]) == 0
    assert "ok" in capsys.readouterr().out
    sd = torch.load(weights_path("mobileface"), weights_only=True)
    sd["linear.weight"][0, 0] += 1.0  # cached weights that changed since they were added
    torch.save(sd, weights_path("mobileface"))
    main(["zoo", "list"])
    assert "fetched" in next(line for line in capsys.readouterr().out.splitlines() if line.startswith("│ mobileface "))
    assert main(["zoo", "verify", "mobileface"]) == 1
    captured = capsys.readouterr()
    assert "FAILED" in captured.out and "1 of 1 models failed verification" in captured.err


def test_errors_are_one_line(user_cache, wide, tmp_path, capsys) -> None:
    path = save(synthetic_state_dict("mobilefacenet512"), tmp_path / "mf.pth")
    assert main(["zoo", "add", "ir152", "--weights", str(path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: mf.pth does not fit ir152: ") and "missing keys" in err
    assert main(["zoo", "add", "mine", "--weights", str(path)]) == 2
    assert "pass --arch" in capsys.readouterr().err
    assert main(["zoo", "card", "nope"]) == 2
    assert "unknown model 'nope'" in capsys.readouterr().err
    assert main(["zoo", "fetch", "ir152"]) == 2
    assert "fpbench zoo add ir152 --weights FILE" in capsys.readouterr().err
    assert main(["zoo", "fetch"]) == 2
    assert "or pass --all" in capsys.readouterr().err


def test_calibrate_rejects_bad_far(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["calibrate", "--model", "sface", "--dataset", "mini", "--far", "2"])
    assert "FAR must lie in (0, 1)" in capsys.readouterr().err


def test_calibrate_prints_thresholds_and_stores_them(user_cache, wide, tmp_path, monkeypatch, capsys) -> None:
    dataset = tiny_dataset(tmp_path)
    monkeypatch.setattr(fpbench.data, "load_dataset", lambda name: dataset, raising=False)
    path = save(synthetic_state_dict("mobilefacenet512", bn_from_data=True), tmp_path / "m.pth")
    assert main(["zoo", "add", "mine", "--weights", str(path), "--arch", "mobilefacenet512"]) == 0
    capsys.readouterr()
    assert main(["calibrate", "--model", "mine", "--dataset", "tinyset", "--far", "0.1", "--far", "0.01"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("│ ") and "0.1 " in line)
    assert row.split("│")[5].strip() == "60" and row.split("│")[6].strip() == "6"  # impostor, genuine pairs
    assert "FAR 0.1 rests on 60 impostor pairs (< 100)" in out
    assert "FAR 0.01 skipped: FAR 0.01 needs at least 100 impostor scores, got 60" in out
    assert f"stored in {calibration_path('mine', 'tinyset')}" in out.replace("\n", "")
    assert calibration_path("mine", "tinyset").is_file()


def test_verify_compares_golden_embeddings(user_cache, wide, tmp_path, monkeypatch, capsys) -> None:
    path = save(synthetic_state_dict("mobilefacenet512", bn_from_data=True), tmp_path / "m.pth")
    main(["zoo", "add", "mine", "--weights", str(path), "--arch", "mobilefacenet512"])
    with torch.no_grad():
        emb = load("mine")(golden_batch(112)).numpy()
    monkeypatch.setattr(verify_mod, "GOLDEN_DIR", tmp_path)
    sha = hashlib.sha256(golden_inputs(112).tobytes()).hexdigest()
    np.savez(tmp_path / "mine.npz", embeddings=emb * 3.0, input_sha256=sha)  # scale does not matter
    capsys.readouterr()
    assert main(["zoo", "verify", "mine"]) == 0
    assert "1.000000 (> 0.9999)" in capsys.readouterr().out
    emb[:, :8] = -emb[:, :8]
    np.savez(tmp_path / "mine.npz", embeddings=emb, input_sha256=sha)
    assert main(["zoo", "verify", "mine"]) == 1
    assert "FAILED" in capsys.readouterr().out
