"""Manifests for a user's own copy of a public face dataset (lfw, lfw-1n, celeba, celebahq, ffhq,
privacy-commons, agedb30, calfw, cfp-ff) or any folder.

fpbench ships no third-party photos. ``fpbench data manifest NAME --root DIR`` reads the dataset in its
standard layout (see each adapter's docstring and data_manifests/README.md), sets the protocol's roles and
splits, hashes every image and writes ``$FPBENCH_CACHE/manifests/NAME.jsonl`` with ``DIR`` in the header, so
``fpbench data prepare NAME`` and ``load_dataset(NAME)`` find it. Files that are missing or unreadable are
left out and listed together in one report (also written next to the manifest as ``NAME.skipped.txt``);
malformed annotation lines stop with the file and line.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from ...cache import subdir
from ...errors import BadInput, FpbenchError
from ..dataset import FaceDataset
from ..manifest import Manifest, read_manifest, write_manifest
from ..prepare import CROP_SIZES, load_prepared
from . import celeba, celebahq, ffhq, folder, lfw, lfw1n, pairlists, privacy_commons
from .common import Draft, Options, Progress, Skipped

Adapter = Callable[[Path, Options, "Progress | None"], Draft]  # root, options, progress -> manifest draft

#: adapter name -> (build function, one-line description for the dataset registry)
ADAPTERS: dict[str, tuple[Adapter, str]] = {
    "lfw": (lfw.build, "LFW, your copy: verification pairs for calibration, dodging with genuine references"),
    "celeba": (celeba.build, "CelebA, your copy: OPOM/AdvCloak 1:N protocol (gallery, probes, distractors), 40 attributes"),
    "celebahq": (celebahq.build, "CelebA-HQ, your copy: AMT-GAN/CLIP2Protect impersonation (4 targets, 1,000 sources)"),
    "ffhq": (ffhq.build, "FFHQ, your copy: seeded targets and sources, each photo its own identity"),
    "agedb30": (pairlists.build_agedb30, "AgeDB-30, your copy: its verification pairs for the authorise protocol (PMT)"),
    "calfw": (pairlists.build_calfw, "CALFW, your copy: its cross-age verification pairs for the authorise protocol (PMT)"),
    "cfp-ff": (pairlists.build_cfp_ff, "CFP-FF, your copy: its frontal-frontal pairs for the authorise protocol (PMT)"),
    "folder": (folder.build, "Your own photos: one identity per subfolder (or per file), every face a source"),
    "lfw-1n": (lfw1n.build, "LFW, your copy, as a 1:N identification set: people with >= 12 photos protected "
                            "(10 inference + the rest test photos), one-photo people as distractors"),
    "privacy-commons": (privacy_commons.build, "Privacy-Commons (OPOM/AdvCloak), your copy of the authors' lists: "
                                               "10 inference + 5 test photos per person, 10,000 MF2 distractors"),
}
#: the adapters that have a training pool (so --max-train means something)
WITH_TRAIN_POOL = ("celeba", "celebahq", "ffhq")
VERSION = "1.0"  # of the adapters' output; bump when a protocol choice changes


class NoManifest(FpbenchError):
    """A dataset whose manifest has not been written from the user's copy yet."""


@dataclass
class Written:
    """A manifest on disk and what was left out of it."""

    path: Path
    sha256: str
    rows: list[dict[str, Any]]
    skipped: list[Skipped]
    report: Path | None  # the list of skipped files, when there are any


def user_manifest_path(name: str) -> Path:
    return subdir("manifests") / f"{name}.jsonl"


def user_manifest(name: str) -> Manifest:
    """The manifest ``fpbench data manifest NAME`` wrote; ``NoManifest`` names that command if there is none."""
    path = user_manifest_path(name)
    if not path.is_file():
        raise NoManifest(f"dataset {name!r} has no manifest yet; run `fpbench data manifest {name} --root DIR` on your copy of it")
    return read_manifest(path)


def load_user_dataset(name: str) -> FaceDataset:
    return load_prepared(user_manifest(name))


def write_dataset_manifest(name: str, root: Path, out: Path | None = None, options: Options = Options(),
                           progress: Progress | None = None) -> Written:
    """Build the manifest of the user's copy of dataset ``name`` at ``root`` and write it (default: the cache)."""
    if name not in ADAPTERS:
        raise BadInput(f"no adapter for {name!r}; available: {', '.join(ADAPTERS)}")
    if options.max_train is not None and name not in WITH_TRAIN_POOL:
        raise BadInput(f"--max-train applies to {', '.join(WITH_TRAIN_POOL)} only (the datasets with a training pool)")
    if not root.is_dir():
        raise BadInput(f"dataset root {root} is not a folder")
    draft = ADAPTERS[name][0](root, options, progress)
    return _write(name, root, draft, out or user_manifest_path(name))


def align_to_folder(src: Path, out: Path, sizes: Iterable[int] = CROP_SIZES, progress: Progress | None = None) -> Written:
    """Detect and align every face under ``src`` into ``out`` (``out/<size>/<id>.png``, ``out/manifest.jsonl``)."""
    from ..detect import default_detector

    if not src.is_dir():
        raise BadInput(f"{src} is not a folder")
    draft = folder.align_folder(src, out, default_detector(), sizes, progress)
    return _write("folder", src, draft, out / "manifest.jsonl")


def _write(name: str, root: Path, draft: Draft, out: Path) -> Written:
    roles = Counter(r["role"] for r in draft.rows)
    header = {"name": name, "version": VERSION, **draft.header, "root": str(root.resolve()),
              "faces_by_role": dict(sorted(roles.items())), "skipped": len(draft.skipped)}
    sha = write_manifest(out, header, draft.rows)
    report = out.with_name(f"{out.stem}.skipped.txt")
    if draft.skipped:
        # surrogateescape: a file name that is not UTF-8 is written back as the bytes it has on disk
        report.write_text("".join(f"{s.source}\t{s.reason}\n" for s in draft.skipped), errors="surrogateescape")
    else:
        report.unlink(missing_ok=True)
    return Written(out, sha, draft.rows, draft.skipped, report if draft.skipped else None)


__all__ = ["ADAPTERS", "NoManifest", "Options", "Skipped", "Written", "align_to_folder", "load_user_dataset",
           "user_manifest", "user_manifest_path", "write_dataset_manifest"]
