"""PMT's Table VIII layout for one run with ``--attacks attributes``: rows = the compared image (the released x~,
x + Gaussian noise), columns = Emotion, Race, Gender CosSim to x (lower: less given away) and |delta age| in
years (higher: less given away), means over the compared faces; the attribute networks are human-models
substitutes (FER2013 / GEAR / SSR-Net), not the paper's DeepFace. Also the spec's expected ordering E1, as a
report line (it never fails a run)."""
from __future__ import annotations

import pandas as pd
from rich.table import Table as RichTable

from ..metrics.estimate import mean_ci
from ..metrics.registry import ATTRIBUTE_LABEL as LABEL

#: (row label, score kind), in the paper's order (PMT, then the noise reference), fpbench's extras after
ROWS = (("PMT x~ (8-bit)", "attributes"), ("x + N(0, 0.3^2)", "attributes-noise-0.3"),
        ("x + N(0, 0.15^2)", "attributes-noise-0.15"), ("PMT x~ (float)", "attributes-float"))
#: (column title, score column); the first four are the paper's
COLUMNS = (("Emotion ↓", "attr_emotion"), ("Race ↓", "attr_race"), ("Gender ↓", "attr_gender"),
           ("|Δage| ↑", "attr_age"), ("|Δage| GEAR ↑", "attr_age_gear"), ("Gender Xcep. ↓", "attr_gender_xception"))
#: what the columns are, under the table
CAPTION = ("CosSim of the attribute probabilities to those of x (↓: less given away); |Δage| in years (↑), SSR-Net; "
           "GEAR's age and the mini-Xception gender are extras")


def table_viii(scores: pd.DataFrame) -> pd.DataFrame:
    """Rows: the compared image; columns: mean CosSim / |delta age| over the faces."""
    out = {}
    for label, kind in ROWS:
        rows = scores[scores["kind"] == kind] if "kind" in scores else scores.iloc[:0]
        if not rows.empty:
            out[label] = {title: rows[col].astype(float).mean() for title, col in COLUMNS}
    return pd.DataFrame.from_dict(out, orient="index")


def expected_ordering(scores: pd.DataFrame) -> str:
    """E1: PMT's CosSim below that of x + N(0, 0.3^2) for emotion, race and gender, and its |delta age| larger;
    each as the mean per-face gap (positive = as the paper says) with a bootstrap CI over the faces."""
    pmt, noise = (scores[scores["kind"] == ROWS[k][1]].set_index("pair") for k in (0, 1))
    faces = pmt.index.intersection(noise.index)
    if faces.empty:
        return ""
    held = []
    for name, (_, col) in zip(("emotion", "race", "gender", "age"), COLUMNS):
        sign = 1.0 if name == "age" else -1.0
        gap = mean_ci(sign * (pmt.loc[faces, col].astype(float) - noise.loc[faces, col].astype(float)).to_numpy())
        verdict = "yes" if gap.lo > 0 else "reversed" if gap.hi < 0 else "CI includes 0"
        held.append(f"{name} {gap.value:+.3g} [{gap.lo:+.3g}, {gap.hi:+.3g}] {verdict}")
    return ("expected ordering E1, PMT gives away less than x + N(0, 0.3^2) (per-face gap, positive = as the paper; "
            f"reported, never enforced): {'; '.join(held)}")


def render(scores: pd.DataFrame) -> tuple[RichTable, list[str]] | None:
    """``table_viii`` as a rich table and its notes, or None when the run has no attribute rows."""
    df = table_viii(scores)
    if df.empty:
        return None
    n = int((scores["kind"] == "attributes").sum())
    out = RichTable(title=f"Table VIII layout: attributes of {n} faces vs the original x ({LABEL})")
    out.add_column("image", no_wrap=True)
    for c in df.columns:
        out.add_column(c, justify="right", min_width=7)
    for label, row in df.iterrows():
        out.add_row(label, *(f"{v:.3f}" for v in row))
    return out, [line for line in (CAPTION, expected_ordering(scores)) if line]
