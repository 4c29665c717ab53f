"""AgeDB-30, CALFW and CFP-FF from their standard verification pair lists, for the ``authorise`` protocol (PMT).

Layouts (your copy; paths in the lists are relative to ROOT)::

    agedb30  ROOT/agedb_30_pair.txt  6,000 lines "imageL imageR flag", flag 1 = same person, -1 (or 0) = not;
             10 folds of 600 in file order. Images ROOT/AgeDB/<n>_<Name>_<age>_<g>.jpg (identity <Name>);
             a bare file name in the list is looked up in ROOT/AgeDB/.
    calfw    ROOT/pairs_CALFW.txt    two lines per pair, "Name_0001.jpg token": token 1-10 = a same-person pair
             of that fold, 0 = a different-person pair (its fold is not in the file: the k-th tenth of the
             negatives is given fold k [decision]). Images ROOT/aligned images/ (or ROOT/images/).
    cfp-ff   ROOT/Protocol/Pair_list_F.txt  "index path" (paths relative to Protocol/, e.g.
             ../Data/Images/001/frontal/01.jpg, identity = the 001 folder), and
             ROOT/Protocol/Split/FF/01..10/{same,diff}.csv  "i,j" indices into Pair_list_F (350 + 350 a fold).

Like the ``lfw`` adapter, the pairs go into the manifest header as ``{"pairs": [[id_a, id_b, same], ...],
"folds": [[start, end], ...]}`` (fold by fold; pairs with an image missing from the copy are dropped and the
files reported); the header's protocol is ``pmt``, so ``fpbench run`` on these sets uses ``authorise``, whose
pairs are exactly these. Only images that some pair uses are listed: x1 of a pair is a ``source``, the rest
``gallery``. Landmarks come from the face detector when the dataset is prepared.
"""
from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any, Callable

from ...errors import BadInput
from .common import Draft, Options, Progress, Skipped, fields, find_dir, find_file, finish, integer

Pair = tuple[str, str, bool, int]  # (relative path a, relative path b, same person, fold)
AGEDB_NAME = re.compile(r"^\d+_(?P<name>.+)_\d+_[mfMF]$")
CALFW_NAME = re.compile(r"^(?P<name>.+)_\d{4}$")


def stem_id(rel: str) -> str:
    """AgeDB and CALFW ids: the file name without its extension (unique in those sets)."""
    return PurePosixPath(rel).stem


def cfp_id(rel: str) -> str:
    """CFP ids: person, pose and number (``Data/Images/001/frontal/01.jpg`` -> ``001_frontal_01``)."""
    return "_".join(PurePosixPath(rel).with_suffix("").parts[-3:])


def _relative(root: Path, base: str, text: str, path: Path, n: int) -> str:
    """``text`` (a path in a pair list, relative to ``base`` under the root) as a clean root-relative path."""
    parts: list[str] = []
    for part in PurePosixPath(base, text.replace("\\", "/")).parts:
        if part == "..":
            if not parts:
                raise BadInput(f"{path}:{n}: {text!r} points outside the dataset root {root}")
            parts.pop()
        elif part not in (".", ""):
            parts.append(part)
    return "/".join(parts)


def read_agedb(path: Path, root: Path) -> list[Pair]:
    """AgeDB-30 pairs in file order; 10 folds when the count allows (6,000 = 10 x 600), else one."""
    folder = "AgeDB" if (root / "AgeDB").is_dir() else ""
    raw = []
    for n, parts in fields(path):
        if len(parts) != 3:
            raise BadInput(f"{path}:{n}: expected 'imageL imageR flag' (flag 1 same person, -1 not), got {len(parts)} fields")
        flag = integer(path, n, parts[2], allowed=(1, 0, -1))
        a, b = (_relative(root, folder if "/" not in p else "", p, path, n) for p in parts[:2])
        same = agedb_identity(a, path, n) == agedb_identity(b, path, n)
        if same != (flag == 1):
            raise BadInput(f"{path}:{n}: flag {flag} but the file names say {'the same person' if same else 'two people'}")
        raw.append((a, b, flag == 1))
    per_fold = len(raw) // 10 if raw and len(raw) % 10 == 0 else max(len(raw), 1)
    return [(a, b, same, i // per_fold) for i, (a, b, same) in enumerate(raw)]


def agedb_identity(rel: str, path: Path, n: int) -> str:
    match = AGEDB_NAME.match(PurePosixPath(rel).stem)
    if match is None:
        raise BadInput(f"{path}:{n}: {rel!r} is not an AgeDB file name '<n>_<Name>_<age>_<m|f>.jpg'")
    return match["name"]


def read_calfw(path: Path, root: Path) -> list[Pair]:
    """CALFW pairs: positives keep their fold token (1-10), the k-th tenth of the negatives is fold k."""
    folder = next((d for d in ("aligned images", "images") if (root / d).is_dir()), "aligned images")
    lines = list(fields(path))
    if len(lines) % 2:
        raise BadInput(f"{path}:{lines[-1][0]}: the pairs take two lines each but the file has {len(lines)} lines")
    pairs, negatives = [], 0
    for (n, a), (m, b) in zip(lines[::2], lines[1::2]):
        for line, parts in ((n, a), (m, b)):
            if len(parts) != 2:
                raise BadInput(f"{path}:{line}: expected 'Name_0001.jpg token' (token 1-10 same person, 0 not)")
        token_a, token_b = integer(path, n, a[1], range(11)), integer(path, m, b[1], range(11))
        if token_a != token_b:
            raise BadInput(f"{path}:{m}: token {token_b} differs from the pair's first line ({token_a})")
        same = calfw_identity(a[0], path, n) == calfw_identity(b[0], path, m)
        if same != (token_a > 0):
            raise BadInput(f"{path}:{n}: token {token_a} but the file names say {'the same person' if same else 'two people'}")
        pairs.append((_relative(root, folder, a[0], path, n), _relative(root, folder, b[0], path, m), same, token_a - 1))
        negatives += not same
    per_fold, k = max(1, -(-negatives // 10)), 0
    out = []
    for a, b, same, fold in pairs:
        if not same:
            fold, k = min(k // per_fold, 9), k + 1
        out.append((a, b, same, fold))
    return sorted(out, key=lambda p: p[3])  # fold by fold (stable: file order within a fold)


def calfw_identity(name: str, path: Path, n: int) -> str:
    match = CALFW_NAME.match(PurePosixPath(name).stem)
    if match is None:
        raise BadInput(f"{path}:{n}: {name!r} is not a CALFW file name 'Name_0001.jpg'")
    return match["name"]


def read_cfp_ff(root: Path) -> list[Pair]:
    """CFP frontal-frontal pairs, fold by fold (Split/FF/01..10, same then diff)."""
    listing = find_file(root / "Protocol", "Pair_list_F.txt", "cfp-ff")
    index: dict[int, str] = {}
    for n, parts in fields(listing):
        if len(parts) != 2:
            raise BadInput(f"{listing}:{n}: expected 'index path', got {len(parts)} fields")
        index[integer(listing, n, parts[0])] = _relative(root, "Protocol", parts[1], listing, n)
    split = root / "Protocol" / "Split" / "FF"
    folds = sorted(d for d in split.glob("*") if d.is_dir()) if split.is_dir() else []
    if not folds:
        raise BadInput(f"folder {split} with the fold folders 01..10 not found; the cfp-ff layout needs it")
    pairs = []
    for fold, d in enumerate(folds):
        for name, same in (("same.csv", True), ("diff.csv", False)):
            csv = d / name
            if not csv.is_file():
                raise BadInput(f"{csv} not found; every fold folder of the cfp-ff layout has same.csv and diff.csv")
            for n, parts in fields(csv):
                values = "".join(parts).split(",")
                if len(values) != 2:
                    raise BadInput(f"{csv}:{n}: expected 'i,j' (two indices into Pair_list_F.txt)")
                i, j = (integer(csv, n, v) for v in values)
                missing = [v for v in (i, j) if v not in index]
                if missing:
                    raise BadInput(f"{csv}:{n}: index {missing[0]} is not in {listing.name}")
                if same != (cfp_identity(index[i]) == cfp_identity(index[j])):
                    raise BadInput(f"{csv}:{n}: a {'same' if same else 'diff'} pair of images of "
                                   f"{'two people' if same else 'one person'} ({index[i]}, {index[j]})")
                pairs.append((index[i], index[j], same, fold))
    return pairs


def cfp_identity(rel: str) -> str:
    """The person folder of a CFP image (``Data/Images/001/frontal/01.jpg`` -> ``001``)."""
    parts = PurePosixPath(rel).parts
    return parts[-3] if len(parts) >= 3 else parts[0]


def _draft(root: Path, pairs: list[Pair], identity: Callable[[str], str], id_of: Callable[[str], str], name: str,
           description: str, progress: Progress | None) -> Draft:
    """Rows of every image a pair uses, the pairs and folds in the header (as the ``lfw`` adapter writes them)."""
    if not pairs:
        raise BadInput(f"the {name} pair list under {root} has no pairs")
    ids = {rel: id_of(rel) for a, b, _, _ in pairs for rel in (a, b)}
    if len(set(ids.values())) < len(ids):
        twice = sorted({i for i in ids.values() if list(ids.values()).count(i) > 1})
        raise BadInput(f"the {name} pair list names two files that share the id {twice[0]!r}; rename one of them")
    firsts = {a for a, _, _, _ in pairs}
    rows: list[dict[str, Any]] = [{"id": i, "source": rel, "identity": identity(rel),
                                   "role": "source" if rel in firsts else "gallery", "split": "test"}
                                  for rel, i in ids.items()]
    skipped: list[Skipped] = []
    rows = finish(root, rows, skipped, progress)
    usable = {r["id"] for r in rows}
    kept = [(ids[a], ids[b], same, fold) for a, b, same, fold in pairs if ids[a] in usable and ids[b] in usable]
    folds, start = [], 0
    for fold in sorted({p[3] for p in kept}):
        size = sum(p[3] == fold for p in kept)
        folds.append([start, start + size])
        start += size
    header = {
        "description": description, "attributes": [], "attribute_source": "none",
        "landmarks": "face detector at prepare time (YuNet)",
        "protocol": {"name": "pmt", "pairs": len(kept), "pairs_dropped": len(pairs) - len(kept)},
        "pairs": [[a, b, same] for a, b, same, _ in kept], "folds": folds,
    }
    return Draft(header, rows, skipped)


def build_agedb30(root: Path, options: Options, progress: Progress | None = None) -> Draft:
    path = find_file(root, "agedb_30_pair.txt", "agedb30")
    return _draft(root, read_agedb(path, root), lambda rel: agedb_identity(rel, path, 0), stem_id, "agedb30",
                  "AgeDB-30 (your copy): its 6,000 verification pairs for the authorise protocol", progress)


def build_calfw(root: Path, options: Options, progress: Progress | None = None) -> Draft:
    path = find_file(root, "pairs_CALFW.txt", "calfw")
    return _draft(root, read_calfw(path, root), lambda rel: calfw_identity(rel, path, 0), stem_id, "calfw",
                  "CALFW (your copy): its 6,000 cross-age verification pairs for the authorise protocol", progress)


def build_cfp_ff(root: Path, options: Options, progress: Progress | None = None) -> Draft:
    find_dir(root, "Protocol", "cfp-ff")
    return _draft(root, read_cfp_ff(root), cfp_identity, cfp_id, "cfp-ff",
                  "CFP-FF (your copy): its 7,000 frontal-frontal verification pairs for the authorise protocol",
                  progress)
