"""`fpbench zoo robustify|robustness|add --channel` errors and outputs, the crop-folder reader, the TRADES
recipe and the report's table and plot (no real training: seconds)."""
from __future__ import annotations

import json

import pytest
import torch

from fpbench.cli.main import main
from fpbench.errors import BadInput
from fpbench.images import write_png
from fpbench.robust.data import folder_faces
from fpbench.robust.learner import AdversarialFineTuning, Recipe
from fpbench.robust.plot import markdown, plot
from fpbench.training import seeded
from fpbench.zoo import ZOO
from fpbench.zoo.paper import ARCHS
from fpbench.zoo.user import check_layout
from test_robust import crops, toy_faces, toy_model
from zoo_helpers import save, synthetic_state_dict, user_cache_fixture

user_cache = pytest.fixture(user_cache_fixture)


def test_robustify_errors_are_one_line(user_cache, capsys) -> None:
    assert main(["zoo", "robustify", "mobilefacenet.at-eps4"]) == 2
    assert "robustify needs an untagged zoo model" in capsys.readouterr().err
    assert main(["zoo", "robustify", "mobilefacenet", "--recipe", "trades"]) == 2
    assert "--recipe trades needs identity labels: pass --dataset" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["zoo", "robustify", "mobilefacenet", "--eps", "40"])
    assert e.value.code == 2 and "must lie in (0, 32]" in capsys.readouterr().err
    assert main(["zoo", "robustness", "mobilefacenet"]) == 2
    err = capsys.readouterr().err
    assert "has no robust tag yet: run `fpbench zoo robustify mobilefacenet`" in err and "Traceback" not in err


def test_crop_folder(tmp_path) -> None:
    with pytest.raises(BadInput, match="no face crops"):
        folder_faces(tmp_path)
    for i, img in enumerate(toy_faces(1, 3)[0]):
        write_png(tmp_path / f"face{i}.png", img)
    faces = folder_faces(tmp_path)
    assert faces.images.shape == (3, 3, 112, 112) and faces.images.dtype == torch.uint8
    assert faces.ids == ["face0", "face1", "face2"] and "3 face crops" in faces.description
    (tmp_path / "broken.png").write_bytes(b"not an image")
    with pytest.raises(BadInput, match="--data"):
        folder_faces(tmp_path)


def test_trades_recipe_needs_labels_and_trains() -> None:
    x, ids = toy_faces(3, 4)
    labels = torch.tensor([int(i[1:]) for i in ids])
    recipe = Recipe(kind="trades", pgd_steps=2, steps=2, batch_size=6)
    assert recipe.tag == "trades-eps4" and "ArcFace" in recipe.describe()
    with pytest.raises(BadInput, match="identity-labelled faces of at least 2 people"):
        AdversarialFineTuning(toy_model(), recipe, crops(x), 0)
    learner = AdversarialFineTuning(toy_model(), recipe, crops(x), 0, labels=labels)
    before = [p.clone() for p in learner.f.backbone.parameters()]
    row = learner.step(1, 0, seeded(0))
    assert set(row) == {"loss", "ce", "kl", "clean"} and all(torch.isfinite(torch.tensor(v)) for v in row.values())
    assert any(not torch.equal(a, b) for a, b in zip(before, learner.f.backbone.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(toy_model().parameters(), learner.f0.parameters()))


def test_ir50_fits_the_face_evolve_layout() -> None:
    with torch.device("meta"):
        sd = ARCHS["ir50"].build().state_dict()
    assert sd["output_layer.3.weight"].shape == (512, 512 * 7 * 7) and "body.23.res_layer.4.running_var" in sd
    assert "body.24.res_layer.0.weight" not in sd  # 3 + 4 + 14 + 3 units
    assert check_layout(sd, ARCHS["ir50"])[0].ok and not check_layout(sd, ARCHS["irse50"])[0].ok
    spec = ARCHS["ir50"].input
    assert (spec.size, spec.mean, spec.std, spec.scale) == (112, (0.5,) * 3, (0.5,) * 3, 1.0)


def test_add_with_channel(user_cache, tmp_path, capsys) -> None:
    path = save(synthetic_state_dict("mobilefacenet512"), tmp_path / "robust.pth")
    assert main(["zoo", "add", "robust-mfn", "--arch", "mobilefacenet512", "--weights", str(path), "--channel", "bgr"]) == 0
    assert "input 112 BGR" in capsys.readouterr().out
    assert ZOO.get("robust-mfn").cfg.input.channels == "BGR"
    assert main(["zoo", "add", "robust-mfn", "--arch", "mobilefacenet512", "--weights", str(path)]) == 0
    assert ZOO.get("robust-mfn").cfg.input.channels == "RGB"  # the architecture's own order again
    assert main(["zoo", "add", "mobileface", "--weights", str(path), "--channel", "bgr"]) == 0
    assert ZOO.get("mobileface").cfg.input.channels == "BGR" and ZOO.get("mobileface").cfg.thresholds is not None


def test_report_table_and_plot(tmp_path) -> None:
    rows = [{"model": m, "tar": tar, "clean_accuracy": 0.97, "robust_accuracy": {"2": a, "4": a / 2, "8": 0.0},
             "median_flip_eps": flip, "transfer_asr": 0.5} for m, tar, a, flip in
            (("mfn", 0.9, 0.5, 1.5), ("mfn.at-eps4", 0.8, 0.9, None))]
    report = {"settings": {"far": 0.01, "search_max": 32 / 255, "dataset": "d"}, "rows": rows,
              "pairs": {"genuine": 4, "impostor": 4}}
    text = markdown(report)
    assert text.splitlines()[0] == ("| model | TAR@FAR0.01 | clean acc | PGD-20 acc @2/255 | PGD-20 acc @4/255 | "
                                    "PGD-20 acc @8/255 | median flip eps | transfer ASR |")
    assert "| mfn | 0.900 | 0.970 | 0.500 | 0.250 | 0.000 | 1.5/255 | 0.500 |" in text
    assert "| mfn.at-eps4 | 0.800 | 0.970 | 0.900 | 0.450 | 0.000 | > 32/255 | 0.500 |" in text
    png = plot(report, tmp_path / "out" / "plot.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    json.dumps(report)
