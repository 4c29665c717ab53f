"""PMT's Table VII layout for one ``authorise`` run: the row of the authorised model(s), columns = every target
(authorised ones marked ``*``) and Average = the mean over the unauthorised targets only (the paper's Average),
once at each model's calibrated threshold and once at the paper's kappa = 0.2 (PMT eq. 10 accuracy, %)."""
from __future__ import annotations

import pandas as pd
from rich.table import Table as RichTable

#: (row label, kinds of the authorised and the unauthorised rows)
THRESHOLDS = (("calibrated", "authorised", "unauthorised"),
              ("kappa 0.2", "authorised-kappa", "unauthorised-kappa"))


def table_vii(scores: pd.DataFrame, transform: str = "identity", clean: bool = False) -> pd.DataFrame:
    """Rows: threshold; columns: targets in run order, then Average (unauthorised mean; for the Clean row,
    ``clean``, the mean of every model as in the paper); values in %."""
    s = scores[scores["transform"] == transform] if "transform" in scores else scores
    kinds = [k for _, *pair in THRESHOLDS for k in pair]
    targets = list(dict.fromkeys(s[s["kind"].isin(kinds)]["target"]))  # not the attribute adversary's own target
    rows = {}
    for label, allowed, other in THRESHOLDS:
        row, unauthorised = {}, []
        for t in targets:
            cell = s[(s["target"] == t) & s["kind"].isin((allowed, other))]
            acc = 100.0 * cell["correct"].mean()
            authorised = not clean and bool((cell["kind"] == allowed).any())
            row[f"{t} *" if authorised else t] = acc
            if not authorised:
                unauthorised.append(acc)
        row["Average"] = sum(unauthorised) / len(unauthorised) if unauthorised else float("nan")
        rows[label] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def render(scores: pd.DataFrame, authorised: list[str], clean: bool = False,
           transform: str = "identity") -> RichTable:
    """``table_vii`` as a rich table titled with its row: the authorised model(s), or Clean (method none)."""
    df = table_vii(scores, transform, clean)
    row = "Clean (unprotected x1; Average = mean of all models)" if clean else \
        f"authorised {', '.join(authorised)} (* = authorised; Average = unauthorised mean)"
    out = RichTable(title=f"Table VII layout, row {row}: eq. 10 accuracy %")
    out.add_column("threshold")
    for c in df.columns:
        out.add_column(c, justify="right")
    for label, row in df.iterrows():
        out.add_row(label, *(f"{v:.1f}" for v in row))
    return out
