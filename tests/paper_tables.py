"""The papers' tables read straight from their text extractions in the shared folder beside the repository
(``../shared/papers``), as the cells the baseline CSVs must hold: an independent check of every number that
was transcribed into ``fpbench/results/published/*.csv``.

Each reader returns ``{(dataset, processing, surrogate, row, column, metric): value as printed}``; cells
printed as ``-`` are left out, as in the CSVs.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, Iterator

PAPERS = Path(__file__).resolve().parents[2] / "shared" / "papers"

Key = tuple[str, str, str, str, str, str]
WHITESPACE = r"\s+"
NUMBER = re.compile(r"^(-|\d+(?:\.\d+)?)$")
#: citation markers and the like that the CSVs' row names leave out
NOISE = re.compile(r"\s*\[\d+\]|\s*\((?:ours|Ours)\)|\s+[a-z]+\d{4}[a-z]+|</?u>|%")

FR_MODELS = ["FaceNet", "ArcFace", "IRSE50", "MobileFace", "CosFace", "IR152"]
ASR_ESR = [(model, metric) for model in FR_MODELS for metric in ("asr", "esr")]
#: the paper's processing names -> fpbench transforms (ErasableMask section V-E)
PROCESSING = {"Resize": "resize0.5", "JPEG": "jpeg50", "Gaussian noise": "gauss0.003", "Median Filter": "median5",
              "Random Rotate": "rotate30", "Central Crop": "crop"}


def block(file: str, start: str, end: str, occurrence: int = 0) -> list[str]:
    """The lines from the ``occurrence``-th line containing ``start`` up to the next line containing ``end``."""
    lines = (PAPERS / file).read_text(encoding="utf-8").splitlines()
    first = [i for i, line in enumerate(lines) if start in line][occurrence]
    last = next(i for i in range(first + 1, len(lines)) if end in lines[i])
    return lines[first:last]


def rows(lines: list[str], n: int, sep: str, groups: tuple[str, ...] = ()) -> Iterator[tuple[str, str, list[str]]]:
    """(group, row label, the last ``n`` value cells) of every line that ends in ``n`` numbers or dashes. The
    group (a dataset, processing or source model printed once per group) carries over to the lines below; the
    row label is the last label cell (ErasableMask's rows also print a type such as "Gradient-based")."""
    group = ""
    for line in lines:
        cells = [NOISE.sub("", c).strip() for c in re.split(sep, line.strip().strip("|"))]
        cells = [c for c in cells if c]
        if len(cells) <= n or not all(NUMBER.match(c) for c in cells[-n:]):
            continue
        values, labels = cells[-n:], cells[:-n]
        if sep == WHITESPACE:
            labels = [" ".join(labels)]
        for g in groups:
            if labels[0] == g or labels[0].startswith(g + " "):
                group, labels = g, [labels[0][len(g):].strip(), *labels[1:]]
        yield group, [label for label in labels if label][-1], values


def table(lines: list[str], n: int, sep: str, groups: tuple[str, ...],
          key: Callable[[str, str, str, str], Key], columns: list[tuple[str, str]]) -> dict[Key, str]:
    """The non-dash cells of one table, keyed by ``key(group, row label, column, metric)``."""
    assert len(columns) == n
    cells: dict[Key, str] = {}
    for group, label, values in rows(lines, n, sep, groups):
        for (column, metric), v in zip(columns, values):
            if v != "-":
                cells[key(group, label, column, metric)] = v
    return cells


def erasablemask() -> dict[str, dict[Key, str]]:
    md, tsv = "erasablemask-tables.txt", "erasablemask.txt"
    commercial = [(c, m) for c in ("Aliyun", "Face++", "Tencent", "Mean") for m in ("confidence", "erasion_confidence")]
    quality = {"Reconstructed": ("ErasableMask", "restored"), "ErasableMask": ("ErasableMask", "protected vs edited")}
    return {
        "II": table(block(md, "| Datasets | Type | Scheme", "V-A Experimental setting"), 12, r"\|", ("CelebA-HQ", "FFHQ"),
                    lambda g, r, c, m: (g, "none", "", r, c, m), ASR_ESR),
        "III": table(block(md, "| Scheme | Aliyun Confidence", "For Attack, the higher"), 8, r"\|", (),
                     lambda g, r, c, m: ("", "none", "", r, c, m), commercial),
        "IV": table(block(tsv, "TABLE IV THE ASR", "Table. III."), 4, "\t", (),
                    lambda g, r, c, m: ("", "none", "", r, c, m),
                    [("Robust ArcFace", "asr"), ("Robust ArcFace", "esr"), ("Robust CosFace", "asr"), ("Robust CosFace", "esr")]),
        "V": table(block(md, "| Processing | Type | Scheme", "V-E Robustness Analysis"), 12, r"\|", tuple(PROCESSING),
                   lambda g, r, c, m: ("", PROCESSING[g], "", r, c, m), ASR_ESR),
        "VI": table(block(tsv, "The image quality evaluation of different schemes", "Distance (FID)"), 4, "\t", (),
                    lambda g, r, c, m: ("", "none", "", *quality.get(r, (r, "protected")), m),
                    [("", "l1"), ("", "mse"), ("", "lpips"), ("", "fid")]),
    }


def advcloak() -> dict[str, dict[Key, str]]:
    """Tables 1 (Privacy-Commons) and 2 (Privacy-Celebrities): Top-1 / Top-5 per source model, method and target;
    Table 3: computation times (T_cus, T_gen) and APSR per method."""
    columns = [(t, m) for t in ("ArcFace", "CosFace", "SFace", "MobileNet", "SENet", "IncRes", "Average")
               for m in ("top1", "top5")]
    out = {}
    for i, (dataset, end) in enumerate((("Privacy-Commons", "Source Model | Method"),
                                        ("Privacy-Celebrities", "4.2 Effectiveness"))):
        lines = block("advcloak.txt", "Source Model | Method", end, occurrence=i)
        out[str(i + 1)] = table(lines, 14, r"\|", ("ArcFace", "CosFace", "Softmax"),
                                lambda g, r, c, m, d=dataset: (d, "none", g, r, c, m), columns)
    # Table 3 (Privacy-Commons, ArcFace source): "/" cells (no customisation for image-specific masks) are absent
    lines = [line.replace("| / |", "| - |") for line in block("advcloak.txt", "Type of Mask | Methods", "4.5.1 The")]
    out["3"] = table(lines, 3, r"\|", ("Image-specific mask", "Person-Specific mask", "Universal mask"),
                     lambda g, r, c, m: ("Privacy-Commons", "none", "ArcFace", r, c, m),
                     [("T_cus", "time_customise"), ("T_gen", "time_generate"), ("APSR", "apsr")])
    return out


#: PMT Tables III-V: the setting printed once per group of rows
ABLATION_GROUPS = ("Initial Status", "Augmentation", "Layer Aggregation", "Kernel")
#: PMT Table IX: the columns (1-5) in the order of its footnote (the extracted table has no header)
MR_MODELS = ["MobileFace", "ResNet50", "IR50-Softmax", "IR50-Sphereface", "ArcFace"]


def pmt() -> dict[str, dict[Key, str]]:
    datasets = ("LFW", "AgeDB-30", "AgeDB30", "CALFW", "CFP-FF")
    name = lambda d: "AgeDB-30" if d == "AgeDB30" else d  # noqa: E731
    recon = [(f"{box} reconstruction", m) for box in ("white-box", "black-box") for m in ("ssim", "psnr", "cos", "srra")]
    models = ["MobileFace", "ArcFace", "ResNet50", "IR50-Softmax", "IR50-Sphereface", "Average"]
    images = {"PMT(x)": "PMT", "x+δ": "Gaussian noise (0.3)"}
    ablation = [("IR50-Softmax", "accuracy"), ("MobileFace", "accuracy")]  # authorised, unauthorised
    return {
        "VI": table(block("pmt.txt", "TABLE VI: Experimental results", "6.2 Evaluation Metrics"), 8, WHITESPACE, datasets,
                    lambda g, r, c, m: (name(g), "none", "MobileFace", "PMT" if r == "Ours" else r, c, m), recon),
        "VII": table(block("pmt.txt", "TABLE VII: Results of defense", "Note that the second column"), 6, WHITESPACE, datasets,
                     lambda g, r, c, m: (name(g), "none", "" if r == "Clean" else r, "Clean" if r == "Clean" else "PMT", c, m),
                     [(c, "accuracy") for c in models]),
        "VIII": table(block("pmt.txt", "TABLE VIII: Experimental results", "6.5 Defense"), 4, WHITESPACE, datasets,
                      lambda g, r, c, m: (name(g), "none", "", next(v for k, v in images.items() if r.startswith(k)), c, m),
                      [("Emotion", "attribute_cossim"), ("Race", "attribute_cossim"), ("Gender", "attribute_cossim"),
                       ("Age", "age_abs_diff")]),
        **{t: table(block("pmt.txt", f"TABLE {t}: PMT performance", end), 2, WHITESPACE, ABLATION_GROUPS,
                    lambda g, r, c, m: ("AgeDB-30", "none", "IR50-Softmax", f"{g}: {r}", c, m), ablation)
           for t, end in (("III", "TABLE IV"), ("IV", "TABLE V"), ("V", "Refer to caption"))},
        "IX": table(block("pmt.txt", "TABLE IX: Experimental results", "Note that"), 5, WHITESPACE, datasets,
                    lambda g, r, c, m: (name(g), "none", "+".join(MR_MODELS["①②③④⑤".index(k)] for k in r.split("+")),
                                        "MR-PMT", c, m), [(c, "accuracy") for c in MR_MODELS]),
        "X": table(block("pmt.txt", "TABLE X: Experimental results", "Note that"), 3, WHITESPACE, (),
                   lambda g, r, c, m: ("LFW", "none", "IR50-Softmax", "PMT (augmentation {}, TI {}, aggregation {})".format(
                       *("yes" if f == "✔" else "no" for f in r.split("/"))), c, m), [*ablation, ("IR50-Softmax", "up")]),
    }


READERS: dict[str, Callable[[], dict[str, dict[Key, str]]]] = {"erasablemask": erasablemask, "advcloak": advcloak, "pmt": pmt}
