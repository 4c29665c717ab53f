"""AdvCloak's Table 3 layout (``fpbench table RUNS --baseline advcloak:3``): per method the type of mask, T_cus
(seconds to customise one person's mask), T_gen (seconds to protect one image) and APSR (the mean Top-1
protection over the black-box targets), the runs first, then the paper's rows in a block of their own.

Times come from the run cards: person-scope methods record T_cus per mask and T_gen per image
(``mask_seconds``); a universal mask is made once for everyone, so its T_cus is 0 as in the paper (the
one-off training time is in the notes); image-scope methods have no T_cus ("/") and T_gen = protect-stage
seconds per protected image. Outputs taken from the cache were not timed ("-"). The paper's seconds are the authors' GPU's.
"""
from __future__ import annotations

import io
import re
from typing import Sequence

import pandas as pd

from ..errors import BadInput
from ..metrics.registry import METRICS
from . import RunResult
from .baselines import published
from .tables import BLACK_BOX, _labels, build_table

SELECTOR = "advcloak:3"
COLUMNS = ["type", "T_cus (s)", "T_gen (s)", "APSR %"]
TYPES = {"image": "Image-specific", "person": "Person-specific", "universal": "Universal"}
NOTES_TYPE = re.compile(r"type of mask: ([\w-]+);")


def is_layout(selector: str) -> bool:
    """Whether ``--baseline selector`` names this layout (``advcloak:3``, with or without a dataset)."""
    return selector == SELECTOR or selector.startswith(SELECTOR + ":")


def method_scope(run: RunResult) -> str:
    """image / person / universal: from the run's protocol card, else from the registered method."""
    scope = (run.card.get("protocol") or {}).get("method_scope")
    if scope:
        return scope
    from ..methods import METHODS

    try:
        return METHODS.get(run.label).scope
    except BadInput:
        return ""


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def run_row(run: RunResult) -> tuple[list[str], str | None]:
    """(type, T_cus, T_gen, APSR) of one identify run, and a note on its timing (device, one-off time)."""
    card, scope = run.card, method_scope(run)
    seconds = card.get("mask_seconds") or {}
    customise, generate = seconds.get("customise") or {}, seconds.get("generate") or {}
    note: str | None = None
    if scope == "image":
        protected = (card.get("work") or {}).get("protected") or 0
        total = (card.get("stage_seconds") or {}).get("protect")
        t_cus, t_gen = "/", _seconds(total / protected if protected and total is not None else None)
    elif scope == "universal":
        t_cus, t_gen = "0", _seconds(generate.get("mean"))
        fit = (card.get("stage_seconds") or {}).get("fit")
        note = (f"{run.label}: one mask for everyone, nothing to customise per person (T_cus 0, as in the paper)"
                + (f"; its training took {fit:.3g} s (fit stage)" if fit else ""))
    else:
        t_cus, t_gen = _seconds(customise.get("mean")), _seconds(generate.get("mean"))
    device = customise.get("device") or generate.get("device")
    if device:
        note = f"{note}; timed on {device}" if note else f"{run.label}: timed on {device}"
    try:
        est = build_table([run], ["apsr"]).cells.get((_labels([run])[0], BLACK_BOX, "apsr"))
    except BadInput:
        raise BadInput(f"--baseline {SELECTOR} needs identify runs with black-box targets (APSR); "
                       f"{run.path or run.label} has none") from None
    apsr = METRICS["apsr"].format(est.value) if est is not None else "-"
    return [TYPES.get(scope, scope or "?"), t_cus, t_gen, apsr], note


def published_rows() -> dict[str, list[str]]:
    """The paper's Table 3 rows: method -> (type, T_cus, T_gen, APSR) as printed ("/" where it prints "/")."""
    df = published("advcloak", "3")
    out: dict[str, list[str]] = {}
    for method, rows in df.groupby("row", sort=False):
        value = {m: f"{v:g}" for m, v in zip(rows["metric"], rows["value"])}
        kind = NOTES_TYPE.match(rows["notes"].iloc[0])
        out[f"{method} (published)"] = [kind.group(1) if kind else "?", value.get("time_customise", "/"),
                                        value.get("time_generate", "/"), value.get("apsr", "-")]
    return out


def table_3(runs: Sequence[RunResult]) -> tuple[pd.DataFrame, list[str]]:
    """The layout as text cells (runs, then published rows) and the notes under it."""
    if not runs:
        raise BadInput(f"--baseline {SELECTOR} needs at least one identify run")
    rows, notes = {}, []
    for label, run in zip(_labels(runs), runs):
        rows[label], note = run_row(run)
        if note:
            notes.append(note)
    n_runs = len(rows)
    rows.update(published_rows())
    df = pd.DataFrame.from_dict(rows, orient="index", columns=COLUMNS)
    df.index.name = "method"
    notes += ["T_cus: seconds to customise one person's mask; T_gen: seconds to protect one image ('-': taken "
              "from the cache, not timed; '/': no per-person mask); APSR: mean Top-1 protection over the black-box "
              "targets",
              f"published rows ({len(rows) - n_runs}): AdvCloak Table 3, Privacy-Commons, IR-50 ArcFace source and "
              "the paper's six targets, seconds on the authors' GPU; not comparable with the runs above"]
    return df, notes


def render_table_3(runs: Sequence[RunResult], fmt: str) -> str:
    """CSV or Markdown text of the layout with its notes (rich consoles get Markdown: no cell is cut)."""
    df, notes = table_3(runs)
    if fmt == "latex":
        raise BadInput(f"--baseline {SELECTOR} renders as rich, markdown or csv, not latex")
    if fmt == "csv":
        buf = io.StringIO()
        df.to_csv(buf)
        return buf.getvalue() + "".join(f"# {n}\n" for n in notes)
    head = [df.index.name, *df.columns]
    lines = ["| " + " | ".join(head) + " |", "|---|---|" + "---:|" * (len(head) - 2)]
    lines += ["| " + " | ".join([str(i), *row]) + " |" for i, row in zip(df.index, df.values.tolist())]
    return "\n".join(lines) + "\n" + "".join(f"{n}\n" for n in notes)
