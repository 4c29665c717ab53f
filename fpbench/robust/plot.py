"""The robustness report as a table (markdown rows) and a plot (verification accuracy against eps)."""
from __future__ import annotations

from pathlib import Path
from typing import Any


def table_rows(report: dict[str, Any]) -> list[list[str]]:
    """One row of strings per model, in ``header`` order (robust accuracies at the report's eps)."""
    rows = []
    for r in report["rows"]:
        flip = "> {:g}/255".format(report["settings"]["search_max"] * 255) if r["median_flip_eps"] is None \
            else f"{r['median_flip_eps']:g}/255"
        rows.append([r["model"], "-" if r["tar"] is None else f"{r['tar']:.3f}", f"{r['clean_accuracy']:.3f}",
                     *(f"{v:.3f}" for v in r["robust_accuracy"].values()), flip,
                     "-" if r["transfer_asr"] is None else f"{r['transfer_asr']:.3f}"])
    return rows


def header(report: dict[str, Any]) -> list[str]:
    eps = list(report["rows"][0]["robust_accuracy"]) if report["rows"] else []
    far = report["settings"]["far"]
    return ["model", f"TAR@FAR{far:g}", "clean acc", *(f"PGD-20 acc @{e}/255" for e in eps), "median flip eps",
            "transfer ASR"]


def markdown(report: dict[str, Any]) -> str:
    head = header(report)
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(report)]
    return "\n".join(lines) + "\n"


def plot(report: dict[str, Any], dest: Path) -> Path:
    """Accuracy of verification decisions against the PGD budget, one line per model, saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.8), dpi=120)
    for r in report["rows"]:
        eps = [0.0, *map(float, r["robust_accuracy"])]
        acc = [r["clean_accuracy"], *r["robust_accuracy"].values()]
        ax.plot(eps, acc, marker="o", label=r["model"])
    pairs = report["pairs"]
    ax.set(xlabel="L-inf budget eps (/255), white-box PGD-20", ylabel="verification accuracy",
           title=f"{report['settings']['dataset']}: {pairs['genuine']} genuine + {pairs['impostor']} impostor pairs",
           ylim=(-0.02, 1.02))
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    dest.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(dest)
    plt.close(fig)
    return dest
