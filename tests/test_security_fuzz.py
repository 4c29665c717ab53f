"""What the fuzz corpus (scripts/fuzz_corpus.py) found, each pinned by a test: hostile names, files and
values are one-line errors (exit 2) or are repaired, and nothing is written outside the cache or --out."""
from __future__ import annotations

import pytest

from fpbench.cli.main import main
from test_security_cli import cli, one_line

SWEEP = "dataset: toy-faces\ntargets: [toy-fr-a]\nsurrogates: [toy-fr-a]\nquality: false\nmethods: [none]\n"


@pytest.mark.parametrize("name", ["../../escaped", "/tmp/escaped", "a/b", ".."])
def test_a_sweep_name_cannot_leave_the_runs_folder(fresh_cache, tmp_path, capsys, monkeypatch, name):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    spec = work / "s.yaml"
    spec.write_text(SWEEP + f"name: {name!r}\n")
    code, _, err = cli(capsys, ["sweep", str(spec), "--quiet"])
    assert code == 2
    assert "`name`" in one_line(err) and "is not allowed" in err
    assert not (tmp_path / "escaped").exists() and sorted(p.name for p in work.iterdir()) == ["s.yaml"]


DEEP = "[" * 100000 + "]" * 100000  # parses by recursion: exhausts the stack (RecursionError)


def test_a_deeply_nested_card_is_one_line_naming_it(tmp_path, capsys):
    (tmp_path / "card.json").write_text(DEEP)
    code, _, err = cli(capsys, ["table", str(tmp_path)])
    assert code == 2
    assert one_line(err) == f"error: {tmp_path / 'card.json'} nests too deeply to be read (corrupt or hostile); " \
                            "repair or delete it"


def test_a_deeply_nested_manifest_is_named_by_file_and_line(tmp_path):
    from fpbench.data import read_manifest
    from fpbench.data.manifest import ManifestError

    path = tmp_path / "m.jsonl"
    path.write_text('{"fpbench_manifest": 1, "name": "x", "version": "1"}\n' + DEEP + "\n")
    with pytest.raises(ManifestError, match=r"m\.jsonl:2: nests too deeply"):
        read_manifest(path)


def test_a_deeply_nested_user_index_leaves_zoo_list_usable(fresh_cache, capsys):
    from fpbench.zoo.user import index_path, register_all

    index_path().write_text(DEEP)
    with pytest.warns(UserWarning, match=r"user\.json is unreadable"):
        register_all()
    assert main(["zoo", "list"]) == 0
    assert "sface" in capsys.readouterr().out


LAUGHS = "targets: [&a [x, x, x, x, x, x, x, x, x], " + ", ".join(  # 9**9 strings by reference
    f"&{b} [*{a}, *{a}, *{a}, *{a}, *{a}, *{a}, *{a}, *{a}, *{a}]" for a, b in zip("abcdefgh", "bcdefghi")) + "]\n"


def test_a_yaml_of_nested_aliases_is_refused_without_expanding_it(tmp_path, capsys):
    """9**9 strings by reference: loading is cheap, printing the value in the error would not be."""
    from fpbench.sweepfile import _show

    seen = []

    class Leaf:
        def __repr__(self) -> str:
            seen.append(1)
            return "leaf"

    leaf = Leaf()
    nested = [leaf] * 9
    for _ in range(3):
        nested = [nested] * 9  # 9**4 leaves by reference, as YAML aliases build them
    assert _show(nested).startswith("[[[") and len(seen) < 20  # only what is shown is looked at
    spec = tmp_path / "s.yaml"
    spec.write_text(LAUGHS + "methods: [none]\n")
    code, _, err = cli(capsys, ["sweep", str(spec), "--quiet"])
    assert code == 2
    line = one_line(err)
    assert "`targets` must be a list of names" in line and len(line) < 400


def test_a_deeply_nested_sweep_yaml_is_one_line(tmp_path, capsys):
    spec = tmp_path / "s.yaml"
    spec.write_text("[" * 5000 + "]" * 5000 + "\n")
    code, _, err = cli(capsys, ["sweep", str(spec), "--quiet"])
    assert code == 2
    assert one_line(err) == f"error: {spec}: nests too deeply to be read (corrupt or hostile)"


def test_show_export_copies_only_images_even_if_the_run_names_another_file(fresh_cache, tmp_path):
    """A run folder is data that may come from elsewhere: scores naming /etc/passwd-like files export nothing."""
    import pandas as pd
    import torch

    from fpbench.cli.show import export
    from fpbench.errors import BadInput
    from fpbench.images import write_png
    from fpbench.results import RunResult

    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0\n")
    write_png(fresh_cache / "protected" / "a.png", torch.rand(3, 8, 8))
    rows = [{"pair": p, "target": "t", "transform": "identity", "kind": "impersonation", "protected_file": f}
            for p, f in (("a->b", "protected/a.png"), ("c->d", str(secret)))]
    run = RunResult(card={"method": {"method": "pgd"}, "spec": {}}, scores=pd.DataFrame(rows), path=tmp_path)
    with pytest.raises(BadInput, match="secret.txt"):
        export(run, tmp_path / "exported")
    assert not (tmp_path / "exported").exists()
    rows[1]["protected_file"] = "protected/a.png"
    assert export(RunResult(card=run.card, scores=pd.DataFrame(rows), path=tmp_path), tmp_path / "exported") == 2


def test_report_embeds_no_file_that_is_not_an_image(fresh_cache, tmp_path):
    import pandas as pd

    from fpbench.errors import BadInput
    from fpbench.report.html import pairs_html
    from fpbench.results import RunResult

    secret = tmp_path / "id_rsa"
    secret.write_text("-----BEGIN PRIVATE KEY-----\n")
    rows = [{"pair": "a->b", "target": "t", "transform": "identity", "kind": "impersonation", "similarity": 0.5,
             "threshold": 0.3, "success": True, "clean_file": str(secret), "protected_file": str(secret),
             "reference_file": str(secret)}]
    run = RunResult(card={"method": {"method": "pgd"}, "spec": {}}, scores=pd.DataFrame(rows), path=tmp_path)
    try:
        html = pairs_html(run, 1)
    except BadInput as e:
        html = str(e)
    assert "id_rsa" in html and "LS0tLS1CRUdJTi" not in html  # named, never embedded (base64 of the key)


@pytest.mark.parametrize("field, value", [("dataset", "../../../escaped"), ("method", "a/b"), ("profile", "..")])
def test_a_run_card_cannot_steer_its_leaderboard_entry_out_of_entries(tmp_path, fresh_cache, capsys, field, value):
    import json

    from test_leaderboard import fake_run

    run = fake_run(tmp_path / "run", [True, False])
    card = json.loads((run / "card.json").read_text())
    (card["dataset"] if field == "dataset" else card["method"] if field == "method" else card["spec"])[
        "name" if field == "dataset" else field] = value
    (run / "card.json").write_text(json.dumps(card))
    root = tmp_path / "a" / "b" / "leaderboards"
    code, _, err = cli(capsys, ["leaderboard", "add", str(run), "--root", str(root)])
    assert code == 2
    assert f"{field} {value!r} is not a plain name" in one_line(err)
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.json"))
    assert [p for p in written if not p.startswith("cache/")] == ["run/card.json"]


def test_an_output_path_that_is_a_device_or_pipe_is_refused_not_replaced(fresh_cache, tmp_path, capsys):
    """Writing --out /dev/full used to rename a file onto the device node (as root: /dev/full was gone)."""
    import os
    import stat

    from PIL import Image

    from fpbench.cache import write_bytes
    from fpbench.errors import BadInput

    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    with pytest.raises(BadInput, match="is not a regular file"):
        write_bytes(pipe, b"x")
    (tmp_path / "photos").mkdir()
    Image.new("RGB", (64, 64)).save(tmp_path / "photos" / "a.png")
    code, _, err = cli(capsys, ["data", "manifest", "folder", "--root", str(tmp_path / "photos"), "--out", str(pipe)])
    assert code == 2 and f"{pipe} exists and is not a regular file" in one_line(err)
    assert stat.S_ISFIFO(pipe.lstat().st_mode)
    link = tmp_path / "link.json"  # a symlink is replaced, as before (its target is not written)
    link.symlink_to(tmp_path / "target.json")
    write_bytes(link, b"{}")
    assert link.read_bytes() == b"{}" and not link.is_symlink() and not (tmp_path / "target.json").exists()


class _WritesMarker:
    def __init__(self, path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_zoo_verify_of_a_hostile_cached_file_is_one_line_and_runs_nothing(fresh_cache, tmp_path, capsys):
    import torch

    from fpbench.zoo.catalog import weights_path

    marker = tmp_path / "MARKER"
    path = weights_path("mobilefacenet")
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"fc.weight": _WritesMarker(marker)}, path)
    code, _, err = cli(capsys, ["zoo", "verify", "mobilefacenet"])
    assert code == 2 and not marker.exists()
    line = " ".join(err.split())
    assert line.startswith(f"error: {path} is not a readable weights file") and line.count("error:") == 1
    assert "can still be loaded" not in line and "weights_only" not in line


def test_a_file_name_that_is_not_utf8_is_reported_as_skipped_with_its_bytes(fresh_cache, tmp_path):
    import os

    from PIL import Image

    from fpbench.data.adapters import write_dataset_manifest

    root = tmp_path / "photos"
    root.mkdir()
    Image.new("RGB", (64, 64)).save(root / "alice.png")
    (root / os.fsdecode(b"caf\xe9.png")).write_bytes(b"not an image")
    written = write_dataset_manifest("folder", root)
    assert [r["id"] for r in written.rows] == ["alice"] and len(written.skipped) == 1
    assert written.report.read_bytes().startswith(b"caf\xe9.png\t")


def test_a_checksum_sidecar_of_binary_garbage_is_a_mismatch_that_is_recomputed(fresh_cache):
    import torch

    from fpbench.cache import CacheIntegrityWarning, checksum_path
    from fpbench.stores import ImageStore

    store = ImageStore("protected", "toy")
    store.put("a", torch.rand(3, 8, 8))
    checksum_path(store.path("a")).write_bytes(b"\xff\xfe\x00")
    with pytest.warns(CacheIntegrityWarning, match="does not match the checksum"):
        assert not store.has("a")
    assert not store.path("a").exists()


def test_a_deeply_nested_sweep_index_keeps_the_runs_in_their_own_order(tmp_path):
    from fpbench.results import load_runs
    from test_leaderboard import fake_run  # a schema-valid finished run

    run_result_dir = tmp_path / "sweep"
    fake_run(run_result_dir / "a", [True])
    (run_result_dir / "sweep.json").write_text(DEEP)
    assert [r.path.name for r in load_runs([run_result_dir])] == ["a"]


@pytest.mark.parametrize("name", ["sheet", "sheet.unknown"])
def test_a_sheet_is_a_png_whatever_the_out_suffix(fresh_cache, tmp_path, name):
    import torch

    from fpbench.data.sheet import pair_sheet
    from fpbench.images import read_image, write_png

    face = tmp_path / "face.png"
    write_png(face, torch.rand(3, 16, 16))
    out = pair_sheet([("a->b", [("clean", face)], ["t: 0.5"])], tmp_path / name)
    assert out == tmp_path / name and read_image(out).shape[2] == 3


def test_matplotlib_logs_no_extra_stderr_lines(capsys, monkeypatch):
    """On a full disk matplotlib logged "Could not save font_manager cache" beside fpbench's one error line."""
    import logging

    monkeypatch.setattr(logging.getLogger("matplotlib"), "level", logging.NOTSET)
    code, _, _ = cli(capsys, ["list", "evil"])
    assert code == 2
    font_manager = logging.getLogger("matplotlib.font_manager")
    assert not font_manager.isEnabledFor(logging.WARNING) and font_manager.isEnabledFor(logging.ERROR)
