"""PMT's Table VI layout for one run with ``--attacks reconstruction``: per authorised target and attack level
(white-box Level 2, black-box Level 1 RecFace), rows Unprotected / Random Noise / Ours (the feature attacked),
columns SSIM, PSNR (lower: the face stays hidden), COS, SRRA and SRRA_feat (higher: the authorised model still
reads it); means over the attacked faces (rates in %). Also the UP rows of ``--attacks up`` (released x~ vs the
original faces) and the adaptive attacker of ``--attacks deobfuscate`` (outside the paper's threat model)."""
from __future__ import annotations

import pandas as pd
from rich.table import Table as RichTable

#: (row label, score kind), in the paper's order
ROWS = (("Unprotected", "reconstruction-unprotected"), ("Random Noise", "reconstruction-permuted-noise"),
        ("Ours (released z~)", "reconstruction"))
COLUMNS = (("SSIM", "ssim", 1.0), ("PSNR", "psnr", 1.0), ("COS", "cos", 1.0), ("SRRA %", "srra", 100.0),
           ("SRRA_feat %", "srra_feat", 100.0))
#: the level column of the rows -> the infix of their kinds after "reconstruction" (as ``adversaries.reconstruction``)
LEVELS = {"white-box": "", "black-box": "-learned"}
UP_ROWS = (("original x", "utility-privacy-original"), ("released x~", "utility-privacy"))


def level_kind(kind: str, level: str) -> str:
    return kind.replace("reconstruction", "reconstruction" + LEVELS[level], 1)


def table_vi(scores: pd.DataFrame, target: str, level: str = "white-box") -> pd.DataFrame:
    """Rows: the feature attacked; columns: the reconstruction scores at ``level`` (means; SRRA in %)."""
    s = scores[scores["target"] == target]
    out = {}
    for label, kind in ROWS:
        rows = s[s["kind"] == level_kind(kind, level)]
        if not rows.empty:
            out[label] = {title: scale * rows[col].astype(float).mean() for title, col, scale in COLUMNS}
    return pd.DataFrame.from_dict(out, orient="index")


def render(scores: pd.DataFrame, card: dict | None = None) -> list[RichTable]:
    """One rich table per authorised target that was attacked, then one for UP if it ran."""
    tables = []
    attacks = ((card or {}).get("protocol") or {}).get("attacks") or {}
    kinds = [level_kind(k, level) for level in LEVELS for _, k in ROWS]
    rec = scores[scores["kind"].isin(kinds)] if "kind" in scores else scores.iloc[:0]
    for target, level in ((t, lv) for t in dict.fromkeys(rec["target"]) for lv in LEVELS):
        df = table_vi(scores, target, level)
        if df.empty:
            continue
        info = ((attacks.get("reconstruction") or {}).get("targets") or {}).get(target, {})
        n = int((rec[(rec["target"] == target) & (rec["kind"] == level_kind("reconstruction", level))]).shape[0])
        recface = (attacks.get("reconstruction") or {}).get("recface") or {}
        how = (f"lambda_TV {info.get('tv_weight', '?')}{' (the largest tried)' if info.get('at_grid_edge') else ''}"
               if level == "white-box" else f"RecFace trained on {recface.get('train_faces', '?')} auxiliary faces")
        title = (f"Table VI layout ({level}), authorised {target}: reconstructions of {n} faces, {how}; "
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
    adaptive = adaptive_table(scores, attacks.get("deobfuscate"))
    return tables + ([adaptive] if adaptive is not None else [])


def adaptive_table(scores: pd.DataFrame, info: dict | None) -> RichTable | None:
    """``--attacks deobfuscate`` per target: eq. 10 accuracy with x~1 and with D(x~1) (calibrated threshold and
    kappa 0.2), and for the authorised targets SSIM / PSNR of x~1 and of D(x~1) to x1; None when it did not run."""
    if "kind" not in scores or not scores["kind"].astype(str).str.startswith("deobfuscat").any():
        return None
    info = info or {}
    out = RichTable(title="Adaptive attacker (outside the paper's threat model): D = D(x~1), a de-obfuscator trained "
                          f"on (x, x~) pairs of {info.get('train_faces', '?')} auxiliary faces; accuracy = eq. 10 (%) "
                          "at the calibrated threshold and at kappa 0.2; SSIM/PSNR to x1")
    for c in ("target", "acc x~", "acc D", "@0.2 x~", "@0.2 D", "SSIM x~", "SSIM D", "PSNR x~", "PSNR D"):
        out.add_column(c, justify="left" if c == "target" else "right", no_wrap=c == "target")
    for target in dict.fromkeys(scores[scores["kind"].astype(str).str.startswith("deobfuscated")]["target"]):
        s = scores[scores["target"] == target]
        pick = lambda *kinds: s[s["kind"].isin(kinds)]  # noqa: E731
        image = pick("deobfuscation")
        out.add_row(target, _mean(pick("authorised", "unauthorised"), "correct", "pct"),
                    _mean(pick("deobfuscated-authorised", "deobfuscated-unauthorised"), "correct", "pct"),
                    _mean(pick("authorised-kappa", "unauthorised-kappa"), "correct", "pct"),
                    _mean(pick("deobfuscated-authorised-kappa", "deobfuscated-unauthorised-kappa"), "correct", "pct"),
                    _mean(image, "ssim_released", ".3f"), _mean(image, "ssim", ".3f"),
                    _mean(image, "psnr_released", ".2f"), _mean(image, "psnr", ".2f"))
    return out


def _mean(rows: pd.DataFrame, column: str, fmt: str) -> str:
    """The mean of ``column`` (``fmt`` "pct": a rate in % with one decimal); empty without rows."""
    if rows.empty or column not in rows:
        return ""
    value = rows[column].astype(float).mean()
    return f"{100 * value:.1f}" if fmt == "pct" else f"{value:{fmt}}"
