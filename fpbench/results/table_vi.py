"""PMT's Table VI layout (white-box half) for one run with ``--attacks reconstruction``: per authorised target,
rows Unprotected / Random Noise / Ours (the feature attacked), columns SSIM, PSNR (lower: the face stays
hidden), COS, SRRA and SRRA_feat (higher: the authorised model still reads it); means over the attacked faces
(rates in %). Also the UP rows of ``--attacks up`` (released x~ vs the original faces)."""
from __future__ import annotations

import pandas as pd
from rich.table import Table as RichTable

#: (row label, score kind), in the paper's order
ROWS = (("Unprotected", "reconstruction-unprotected"), ("Random Noise", "reconstruction-permuted-noise"),
        ("Ours (released z~)", "reconstruction"))
COLUMNS = (("SSIM", "ssim", 1.0), ("PSNR", "psnr", 1.0), ("COS", "cos", 1.0), ("SRRA %", "srra", 100.0),
           ("SRRA_feat %", "srra_feat", 100.0))
UP_ROWS = (("original x", "utility-privacy-original"), ("released x~", "utility-privacy"))


def table_vi(scores: pd.DataFrame, target: str) -> pd.DataFrame:
    """Rows: the feature attacked; columns: the reconstruction scores (means; SRRA in %)."""
    s = scores[scores["target"] == target]
    out = {}
    for label, kind in ROWS:
        rows = s[s["kind"] == kind]
        if not rows.empty:
            out[label] = {title: scale * rows[col].astype(float).mean() for title, col, scale in COLUMNS}
    return pd.DataFrame.from_dict(out, orient="index")


def render(scores: pd.DataFrame, card: dict | None = None) -> list[RichTable]:
    """One rich table per authorised target that was attacked, then one for UP if it ran."""
    tables = []
    attacks = ((card or {}).get("protocol") or {}).get("attacks") or {}
    rec = scores[scores["kind"].isin([k for _, k in ROWS])] if "kind" in scores else scores.iloc[:0]
    for target in dict.fromkeys(rec["target"]):
        df = table_vi(scores, target)
        info = ((attacks.get("reconstruction") or {}).get("targets") or {}).get(target, {})
        n = int((rec[(rec["target"] == target) & (rec["kind"] == "reconstruction")]).shape[0])
        title = (f"Table VI layout (white-box), authorised {target}: reconstructions of {n} faces, "
                 f"lambda_TV {info.get('tv_weight', '?')}{' (the largest tried)' if info.get('at_grid_edge') else ''}; "
                 "SSIM/PSNR lower = hidden, COS/SRRA higher = usable")
        out = RichTable(title=title)
        out.add_column("feature")
        for c in df.columns:
            out.add_column(c, justify="right")
        for label, row in df.iterrows():
            out.add_row(label, *(f"{v:.3f}" if c in ("SSIM", "COS") else f"{v:.1f}" for c, v in row.items()))
        tables.append(out)
    up = scores[scores["kind"].isin([k for _, k in UP_ROWS])] if "kind" in scores else scores.iloc[:0]
    if not up.empty:
        info = attacks.get("up") or {}
        out = RichTable(title=f"UP({info.get('sigma', 0.1)}, {info.get('kappa', 0.3)}) with {info.get('privacy', 'LPIPS')}, "
                              f"{info.get('draws', '?')} noise draws (Table X's UP column; higher = better)")
        for c in ("target", "images", "utility", "privacy", "UP"):
            out.add_column(c, justify="left" if c in ("target", "images") else "right")
        for target in dict.fromkeys(up["target"]):
            for label, kind in UP_ROWS:
                rows = up[(up["target"] == target) & (up["kind"] == kind)]
                if not rows.empty:
                    out.add_row(target, label, *(f"{rows[c].mean():.3f}" for c in ("utility", "privacy", "up")))
        tables.append(out)
    return tables
