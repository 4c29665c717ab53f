"""fpbench: does a facial-privacy protection stop face recognition, at what cost, and can it be undone?

Python API (mirrors the CLI)::

    import fpbench
    result = fpbench.run("pgd", ["sface"], surrogates=["mobilefacenet"], transforms=["identity", "jpeg50"])
    result.scores        # per-image scores (pandas)
    result.table()       # rich table; result.to_latex() for papers
"""
from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def run(method: str, targets: Any, dataset: str = "mini", transforms: Any = ("identity",), **options: Any):
    """Run ``method`` against ``targets``; see ``fpbench.runner.run`` for the options."""
    from .runner import run as _run

    return _run(method, targets, dataset, transforms, **options)
