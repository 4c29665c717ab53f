"""Row labels of runs: the method name, plus what differs between the runs of one method shown together
(``pgd eps=8/255 steps=50``), parameters in the method's (or the sweep spec's) order, budgets as fractions."""
from __future__ import annotations

from fractions import Fraction
from typing import Any, Sequence

#: spec fields besides ``params`` that tell runs of one method apart, in label order
SPEC_FIELDS = ("surrogates", "profile", "seed", "far", "mask_l2", "inference_photos")  # transforms: rows of their own
#: how a label shows a spec field left unset (a spec omits its default)
UNSET = {"inference_photos": "all"}


def format_value(value: Any) -> str:
    """A parameter value as a person writes it: ``8/255`` rather than 0.03137..., ``0.5`` as is."""
    if isinstance(value, bool) or not isinstance(value, float):
        return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
    short = f"{value:g}"
    if float(short) == value and len(short) <= 6:
        return short
    frac = Fraction(value).limit_denominator(1000)
    steps = value * 255  # pixel budgets are written in 1/255 steps: 12/255, not 4/85 (but 1/3 stays)
    if frac.denominator > 5 and abs(steps - round(steps)) < 1e-6:
        return f"{round(steps)}/255"
    if frac.denominator > 1 and abs(float(frac) - value) < 1e-9:
        return f"{frac.numerator}/{frac.denominator}"
    return f"{value:.4g}"


def param_order(method: str, seen: Sequence[str], order: Sequence[str] = ()) -> list[str]:
    """``seen`` parameter names in ``order`` (a sweep spec's), else the method's declaration order."""
    if not order:
        try:
            from ..methods import METHODS

            order = list(getattr(METHODS.get(method), "defaults", {}) or {})
        except Exception:  # a method this install lacks: its runs still get labels
            order = []
    rank = {name: i for i, name in enumerate(order)}
    return sorted(seen, key=lambda n: (rank.get(n, len(rank)), n))


def run_labels(cards: Sequence[dict[str, Any]], names: Sequence[str], order: Sequence[str] = ()) -> list[str]:
    """One label per run: its method, and where several runs share it, the spec values that differ between
    them; runs whose specs are the same keep their run dir name (``names``) to stay apart."""
    methods = [c["method"]["method"] for c in cards]
    labels = list(methods)
    for method in dict.fromkeys(methods):
        idx = [i for i, m in enumerate(methods) if m == method]
        if len(idx) < 2:
            continue
        specs = [cards[i].get("spec") or {} for i in idx]
        params = [s.get("params") or {} for s in specs]
        keys = param_order(method, list(dict.fromkeys(k for p in params for k in p)), order)
        differ = [k for k in keys if len({repr(p.get(k)) for p in params}) > 1]
        fields = [f for f in SPEC_FIELDS if len({repr(s.get(f)) for s in specs}) > 1]
        for i, p, s in zip(idx, params, specs):
            parts = [f"{k}={format_value(p[k]) if k in p else 'default'}" for k in differ]
            parts += [f"{f}={format_value(s[f]) if s.get(f) is not None else UNSET.get(f, 'default')}" for f in fields]
            labels[i] = " ".join([method, *parts])
    return [label if labels.count(label) == 1 else f"{label} ({names[i]})" for i, label in enumerate(labels)]
