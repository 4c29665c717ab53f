"""Leaderboards: one JSON entry per (method, dataset, protocol, profile) made from a run card
(``entry.py``), rendered as ``README.md`` and a static ``index.html`` (``build.py``), and re-run from the
entries to check that every number stays inside its CI (``check.py``)."""
