"""AgeDB-30, CALFW and CFP-FF pair-list adapters on tiny fake copies; the authorise protocol uses the pairs."""
from __future__ import annotations

from pathlib import Path

import pytest

from fpbench.cli.main import main
from fpbench.data.adapters import user_manifest, write_dataset_manifest
from fpbench.data.dataset import FaceDataset, FaceRecord
from fpbench.data.manifest import Manifest
from fpbench.data.prepare import header_pairs
from fpbench.errors import BadInput
from fpbench.protocols.authorise import verification_pairs
from test_data_adapters import cache  # noqa: F401  (fixture)
from test_data_manifest import face_photo

LM = [[22, 28], [42, 28], [32, 38], [24, 48], [40, 48]]


def photo(path: Path, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    face_photo(64, 64, LM, seed=seed).save(path)


# ---------------------------------------------------------------- AgeDB-30

def make_agedb(root: Path, lines: list[str], files: list[str]) -> Path:
    for k, f in enumerate(files):
        photo(root / "AgeDB" / f, k)
    (root / "agedb_30_pair.txt").write_text("\n".join(lines) + "\n")
    return root


AGEDB_FILES = ["0_MariaCallas_35_f.jpg", "1_MariaCallas_60_f.jpg", "2_JohnWayne_40_m.jpg"]


def test_agedb30_pairs_identities_roles_and_missing_file(tmp_path, cache):
    root = make_agedb(tmp_path / "agedb", ["0_MariaCallas_35_f.jpg 1_MariaCallas_60_f.jpg 1",
                                           "0_MariaCallas_35_f.jpg 2_JohnWayne_40_m.jpg -1",
                                           "2_JohnWayne_40_m.jpg 9_JohnWayne_70_m.jpg 1"], AGEDB_FILES)
    assert main(["data", "manifest", "agedb30", "--root", str(root)]) == 1  # 9_JohnWayne_70_m.jpg is missing
    m = user_manifest("agedb30")
    rows = {r["id"]: r for r in m.rows}
    assert rows["1_MariaCallas_60_f"]["identity"] == "MariaCallas" and rows["2_JohnWayne_40_m"]["identity"] == "JohnWayne"
    assert rows["0_MariaCallas_35_f"]["role"] == "source" and rows["1_MariaCallas_60_f"]["role"] == "gallery"
    assert rows["0_MariaCallas_35_f"]["source"] == "AgeDB/0_MariaCallas_35_f.jpg"
    assert m.header["pairs"] == [["0_MariaCallas_35_f", "1_MariaCallas_60_f", True],
                                 ["0_MariaCallas_35_f", "2_JohnWayne_40_m", False]]
    assert m.header["protocol"]["name"] == "pmt" and m.header["protocol"]["pairs_dropped"] == 1
    assert header_pairs(m) == (("0_MariaCallas_35_f", "1_MariaCallas_60_f", True),
                               ("0_MariaCallas_35_f", "2_JohnWayne_40_m", False))


@pytest.mark.parametrize("line, message", [
    ("0_MariaCallas_35_f.jpg 1_MariaCallas_60_f.jpg", r"agedb_30_pair\.txt:1: expected 'imageL imageR flag'"),
    ("0_MariaCallas_35_f.jpg 2_JohnWayne_40_m.jpg 1", r"agedb_30_pair\.txt:1: flag 1 but the file names say two people"),
    ("0_MariaCallas_35_f.jpg 1_MariaCallas_60_f.jpg 2", r"agedb_30_pair\.txt:1: value 2 is not one of"),
    ("maria.jpg 1_MariaCallas_60_f.jpg 1", r"agedb_30_pair\.txt:1: 'AgeDB/maria\.jpg' is not an AgeDB file name"),
    ("../0_MariaCallas_35_f.jpg 1_MariaCallas_60_f.jpg 1", r"points outside the dataset root"),
])
def test_agedb30_bad_lines_are_one_line_errors(tmp_path, cache, line, message):
    root = make_agedb(tmp_path / "agedb", [line], AGEDB_FILES)
    with pytest.raises(BadInput, match=message):
        write_dataset_manifest("agedb30", root)
    assert main(["data", "manifest", "agedb30", "--root", str(root)]) == 2


def test_agedb30_without_pair_list_names_the_file(tmp_path, cache):
    (tmp_path / "agedb" / "AgeDB").mkdir(parents=True)
    with pytest.raises(BadInput, match=r"agedb_30_pair\.txt not found in .*agedb30 layout needs it"):
        write_dataset_manifest("agedb30", tmp_path / "agedb")


# ---------------------------------------------------------------- CALFW

def make_calfw(root: Path, lines: list[str], people: dict[str, int]) -> Path:
    k = 0
    for name, count in people.items():
        for i in range(1, count + 1):
            photo(root / "aligned images" / f"{name}_{i:04d}.jpg", k)
            k += 1
    (root / "pairs_CALFW.txt").write_text("\n".join(lines) + "\n")
    return root


CALFW_LINES = ["Abel_Pacheco_0001.jpg 1", "Abel_Pacheco_0002.jpg 1",  # fold 1 positive
               "Bo_Li_0001.jpg 2", "Bo_Li_0002.jpg 2",  # fold 2 positive
               "Abel_Pacheco_0001.jpg 0", "Bo_Li_0001.jpg 0",  # negatives: the first tenth -> fold 1
               "Bo_Li_0002.jpg 0", "Abel_Pacheco_0002.jpg 0"]


def test_calfw_pairs_fold_order_and_ids(tmp_path, cache):
    root = make_calfw(tmp_path / "calfw", CALFW_LINES, {"Abel_Pacheco": 2, "Bo_Li": 2})
    assert main(["data", "manifest", "calfw", "--root", str(root)]) == 0
    m = user_manifest("calfw")
    rows = {r["id"]: r for r in m.rows}
    assert rows["Bo_Li_0002"]["identity"] == "Bo_Li" and rows["Bo_Li_0002"]["source"] == "aligned images/Bo_Li_0002.jpg"
    # fold by fold: fold 1 = its positive and the first negative, fold 2 = its positive and the second
    assert m.header["pairs"] == [["Abel_Pacheco_0001", "Abel_Pacheco_0002", True], ["Abel_Pacheco_0001", "Bo_Li_0001", False],
                                 ["Bo_Li_0001", "Bo_Li_0002", True], ["Bo_Li_0002", "Abel_Pacheco_0002", False]]
    assert m.header["folds"] == [[0, 2], [2, 4]]


@pytest.mark.parametrize("lines, message", [
    (CALFW_LINES[:3], r"pairs_CALFW\.txt:3: the pairs take two lines each"),
    (["Abel_Pacheco_0001.jpg 1", "Abel_Pacheco_0002.jpg 2"], r"pairs_CALFW\.txt:2: token 2 differs"),
    (["Abel_Pacheco_0001.jpg 1", "Bo_Li_0001.jpg 1"], r"pairs_CALFW\.txt:1: token 1 but the file names say two people"),
    (["Abel_Pacheco_0001.jpg", "Bo_Li_0001.jpg 0"], r"pairs_CALFW\.txt:1: expected 'Name_0001\.jpg token'"),
    (["Abel_Pacheco_0001.jpg 11", "Abel_Pacheco_0002.jpg 11"], r"pairs_CALFW\.txt:1: value 11 is not one of"),
])
def test_calfw_bad_lines_are_one_line_errors(tmp_path, cache, lines, message):
    root = make_calfw(tmp_path / "calfw", lines, {"Abel_Pacheco": 2, "Bo_Li": 1})
    with pytest.raises(BadInput, match=message):
        write_dataset_manifest("calfw", root)


# ---------------------------------------------------------------- CFP-FF

def make_cfp(root: Path, folds: list[tuple[list[str], list[str]]], listing: list[str] | None = None) -> Path:
    k = 0
    for person in ("001", "002"):
        for i in (1, 2):
            photo(root / "Data" / "Images" / person / "frontal" / f"{i:02d}.jpg", k)
            k += 1
    listing = listing or ["1 ../Data/Images/001/frontal/01.jpg", "2 ../Data/Images/001/frontal/02.jpg",
                          "3 ../Data/Images/002/frontal/01.jpg", "4 ../Data/Images/002/frontal/02.jpg"]
    (root / "Protocol").mkdir(parents=True)
    (root / "Protocol" / "Pair_list_F.txt").write_text("\n".join(listing) + "\n")
    for n, (same, diff) in enumerate(folds, start=1):
        d = root / "Protocol" / "Split" / "FF" / f"{n:02d}"
        d.mkdir(parents=True)
        (d / "same.csv").write_text("\n".join(same) + "\n")
        (d / "diff.csv").write_text("\n".join(diff) + "\n")
    return root


def test_cfp_ff_pairs_by_fold_and_ids(tmp_path, cache):
    root = make_cfp(tmp_path / "cfp", [(["1,2"], ["1,3"]), (["3,4"], ["2,4"])])
    assert main(["data", "manifest", "cfp-ff", "--root", str(root)]) == 0
    m = user_manifest("cfp-ff")
    rows = {r["id"]: r for r in m.rows}
    assert rows["002_frontal_01"]["identity"] == "002" and rows["002_frontal_01"]["source"] == "Data/Images/002/frontal/01.jpg"
    assert m.header["pairs"] == [["001_frontal_01", "001_frontal_02", True], ["001_frontal_01", "002_frontal_01", False],
                                 ["002_frontal_01", "002_frontal_02", True], ["001_frontal_02", "002_frontal_02", False]]
    assert m.header["folds"] == [[0, 2], [2, 4]]


@pytest.mark.parametrize("folds, listing, message", [
    ([(["1,3"], ["1,4"])], None, r"same\.csv:1: a same pair of images of two people"),
    ([(["1,9"], ["1,4"])], None, r"same\.csv:1: index 9 is not in Pair_list_F\.txt"),
    ([(["1;2"], ["1,4"])], None, r"same\.csv:1: expected 'i,j'"),
    ([(["1,2"], ["1,3"])], ["1 ../Data/Images/001/frontal/01.jpg extra"], r"Pair_list_F\.txt:1: expected 'index path'"),
    ([], None, r"fold folders 01\.\.10 not found"),
])
def test_cfp_ff_bad_files_are_one_line_errors(tmp_path, cache, folds, listing, message):
    root = make_cfp(tmp_path / "cfp", folds, listing)
    with pytest.raises(BadInput, match=message):
        write_dataset_manifest("cfp-ff", root)


# ---------------------------------------------------------------- the authorise protocol reads them

def test_authorise_uses_the_manifest_pairs_and_drops_unprepared_faces():
    records = [FaceRecord(i, i.split("_")[0], "source") for i in ("a_1", "a_2", "b_1", "c_1")]
    dataset = FaceDataset("agedb30", "x" * 64, records, pairs=(("a_1", "a_2", True), ("a_1", "b_1", False),
                                                                ("c_1", "zz_9", False)))
    pairs = verification_pairs(dataset)
    assert [(a.id, b.id, y) for a, b, y in pairs] == [("a_1", "a_2", 1), ("a_1", "b_1", 0)]
    with pytest.raises(BadInput, match=r"none of the 1 pairs of its manifest has both faces prepared"):
        verification_pairs(FaceDataset("calfw", "x" * 64, records, pairs=(("zz_1", "a_1", True),)))


def test_header_pairs_must_be_id_id_bool():
    with pytest.raises(BadInput, match=r"header 'pairs' must be a list of \[id_a, id_b, same\]"):
        header_pairs(Manifest("calfw", {"pairs": [["a", "b", 1]]}, []))
