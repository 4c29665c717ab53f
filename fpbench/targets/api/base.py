"""What every commercial face-compare adapter shares: credentials from the environment, the HTTP session, the
pair-score cache keyed by the bytes sent, the rate limiter, retries with backoff, the request budget, the
request log and the "no face found" outcome.

A vendor module subclasses ``ApiTarget`` and implements ``request(a, b) -> Reply``: one comparison (one or
more HTTP exchanges through ``self.http``) parsed into a ``Reply``: ``ok`` (a score), ``no-face``, ``retry``
(throttled, 5xx) or ``fatal`` (auth, bad image: the run stops with the vendor's code).
"""
from __future__ import annotations

import math
import os
import random
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import requests
import torch

from ...cache import json_sha256, subdir
from ...errors import BadInput
from .. import PairTarget
from .limits import TokenBucket, backoff_seconds, retry_after_seconds
from .payload import Encoding, Sent, encode

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass
class Reply:
    """One comparison's outcome as the vendor stated it."""

    kind: str  # "ok" | "no-face" | "retry" | "fatal"
    score: float | None = None
    code: str = ""
    message: str = ""
    request_id: str = ""
    retry_after: float | None = None
    thresholds: dict[str, float] | None = None  # returned by the vendor with this call (Face++, Aliyun)
    model_version: str = ""


class BudgetExhausted(BadInput):
    """The run would send more requests than ``max_requests`` allows."""


class VendorDecision(dict):
    """Thresholds of a vendor that states one decision threshold but no FAR for it (Azure's isIdentical,
    Baidu's recommended 80): the same threshold at every FAR, with a provenance that says so."""

    def __init__(self, tau: float, source: str) -> None:
        super().__init__()
        self.tau, self.source = tau, source

    def get(self, far, default=None):
        return (self.tau, {"source": self.source, "kind": "vendor-decision-threshold (no FAR documented)"})


class ApiTarget(PairTarget):
    """A commercial face-compare API; subclasses set the class attributes and implement ``request``."""

    vendor = ""  # human name, e.g. "Face++"
    credential_vars: tuple[str, ...] = ()  # environment variables holding the credentials, in order
    url_var = ""  # environment variable overriding the base URL (e.g. a local `fpbench serve`)
    default_url = ""
    default_qps = 1.0
    requests_per_pair = 1
    min_side = 64  # the vendor's minimum image side (and face size), see the reference
    documented: dict[float, float] = {}  # FAR -> the vendor's documented threshold on its own scale
    threshold_source = ""

    def __init__(self, qps: str | None = None, max_requests: str | None = None, format: str = "png",
                 retries: str = "6", backoff: str = "1", timeout: str = "30") -> None:
        super().__init__()
        self.display = self.name
        self.qps = _number(qps, "qps", self.name, self.default_qps, positive=True)
        self.max_requests = None if max_requests is None else int(_number(max_requests, "max_requests", self.name, 0))
        self.retries = int(_number(retries, "retries", self.name, 6))
        self.backoff = _number(backoff, "backoff", self.name, 1.0)
        self.timeout = _number(timeout, "timeout", self.name, 30.0, positive=True)
        self.encoding = Encoding.parse(format, self.name)
        self.credentials = self.read_credentials()
        self.secrets: list[str] = [v for v in self.credentials.values() if v]
        self.url = (os.environ.get(self.url_var) or self.default_url).rstrip("/")
        if not self.url:
            raise BadInput(f"target {self.name}: set the environment variable {self.url_var} to your {self.vendor} endpoint")
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BadInput(f"{self.url_var}={self.url!r} is not an http(s) URL")
        self.session = requests.Session()
        self.session.trust_env = parts.hostname not in LOOPBACK  # no proxy or .netrc for a local mock
        self.bucket = TokenBucket(self.qps)
        self.rng = random.Random()
        self.counts: Counter[str] = Counter()
        self.request_log: list[dict[str, Any]] = []
        self.model_versions: set[str] = set()
        self.returned_thresholds: dict[str, set[float]] = {}
        self.warnings: list[str] = []
        self.sent_sizes: set[tuple[int, int, int]] = set()
        self._attempt = 0

    # ------------------------------------------------------------------ vendor hooks

    def request(self, a: Sent, b: Sent) -> Reply:
        """Compare two encoded images (one or more ``self.http`` exchanges)."""
        raise NotImplementedError

    def result_options(self) -> dict[str, Any]:
        """Options that change the scores (part of the cache key); rate and budget options are not."""
        return {"format": self.encoding.label}

    def read_credentials(self) -> dict[str, str]:
        missing = [v for v in self.credential_vars if not os.environ.get(v)]
        if missing:
            raise BadInput(f"target {self.name}: set the environment variable(s) {', '.join(missing)} "
                           f"({self.vendor} credentials; see README 'Commercial APIs')")
        return {v: os.environ[v] for v in self.credential_vars}

    # ------------------------------------------------------------------ scoring with the cache

    @property
    def cache_key(self) -> str:
        return f"{self.name}-{json_sha256([self.version, self.result_options(), self.url])[:16]}"

    def thresholds(self) -> dict[float, tuple[float, dict[str, Any]]]:
        return {far: (tau, {"source": self.threshold_source, "kind": "vendor-documented"})
                for far, tau in self.documented.items()}

    def plan(self, comparisons: int) -> None:
        """Refuse to start when the budget cannot cover the comparisons the run needs (cached ones excepted)."""
        if self.max_requests is None:
            return
        folder = subdir(self.cache_folder, self.cache_key)
        cached = sum(1 for _ in folder.glob("*.json"))
        needed = max(0, comparisons - cached) * self.requests_per_pair
        if needed > self.max_requests:
            raise BudgetExhausted(
                f"target {self.name}: this run needs at least {needed} requests ({comparisons} comparisons, at most "
                f"{cached} cached, {self.requests_per_pair} request(s) each) but max_requests={self.max_requests}; "
                f"raise it (e.g. --target {self.name}:max_requests={needed}) or run fewer pairs")

    cache_folder = "api-scores"

    def prepare(self, a: torch.Tensor, b: torch.Tensor) -> tuple[str, tuple[Sent, Sent]]:
        """The images as they are sent (encoded, enlarged): the cache key hashes those bytes."""
        sa, sb = (encode(x, self.encoding, self.min_side) for x in (a, b))
        self.sent_sizes.add((sa.width, sa.height, sa.upscale))
        return json_sha256([sa.sha256, sb.sha256]), (sa, sb)

    def compare_entry(self, payload: tuple[Sent, Sent]) -> dict[str, Any]:
        entry = self._fetch(*payload)
        self._count_no_face(entry)
        return entry

    def on_cached(self, entry: dict[str, Any]) -> None:
        self.counts["cached"] += 1
        self._count_no_face(entry)

    def _count_no_face(self, entry: dict[str, Any]) -> None:
        if entry["outcome"] == "no-face":
            self.counts["no_face"] += 1

    def _fetch(self, a: Sent, b: Sent) -> dict[str, Any]:
        for attempt in range(self.retries + 1):
            self._attempt = attempt
            try:
                reply = self.request(a, b)
            except requests.Timeout:
                reply = Reply("retry", code="timeout")
            except requests.ConnectionError:
                reply = Reply("retry", code="connection-error")
            if self.request_log:
                self.request_log[-1].update(code=reply.code or reply.kind, request_id=reply.request_id
                                            or self.request_log[-1]["request_id"], sent=[a.sha256, b.sha256])
            if reply.kind in ("ok", "no-face"):
                return self._entry(reply, a, b)
            if reply.kind == "fatal":
                self.counts["failed"] += 1
                raise BadInput(f"{self.name}: {self.vendor} refused the request with {reply.code}"
                               f"{': ' + self.scrub(reply.message) if reply.message else ''} (not retried)")
            if attempt == self.retries:
                self.counts["failed"] += 1
                raise BadInput(f"{self.name}: still {reply.code} after {self.retries} retries; lower qps or try "
                               "later (scored pairs are cached: a re-run resumes)")
            self.counts["retried"] += 1
            time.sleep(backoff_seconds(attempt, self.backoff, reply.retry_after, self.rng))
        raise AssertionError("unreachable")

    def _entry(self, reply: Reply, a: Sent, b: Sent) -> dict[str, Any]:
        self.counts["billable"] += 1
        if reply.model_version:
            self.model_versions.add(reply.model_version)
        for far, tau in (reply.thresholds or {}).items():
            self.returned_thresholds.setdefault(far, set()).add(round(float(tau), 6))
            self._check_threshold(float(far), float(tau))
        return {"similarity": reply.score if reply.kind == "ok" else None, "outcome": "scored" if reply.kind == "ok"
                else "no-face", "request_id": reply.request_id, "model_version": reply.model_version,
                "thresholds": reply.thresholds, "sent": {"format": self.encoding.label, "size": [a.width, a.height],
                                                         "a_sha256": a.sha256, "b_sha256": b.sha256},
                "time": datetime.now(timezone.utc).isoformat(timespec="seconds")}

    def _check_threshold(self, far: float, tau: float) -> None:
        used = self.documented.get(far)
        if used is not None and abs(used - tau) > 1e-6:
            msg = (f"{self.name}: the service returned threshold {tau:g} at FAR {far:g}, the run decided at the "
                   f"documented {used:g}; compare the raw confidences with the returned thresholds in the card")
            if msg not in self.warnings:
                self.warnings.append(msg)

    # ------------------------------------------------------------------ HTTP

    def http(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One HTTP exchange: budget check, rate limit, timeout, and a request-log row (no secrets, no bytes)."""
        row = self.begin_request()
        t0 = time.perf_counter()
        try:
            resp = self.session.request(method, url, timeout=self.timeout, **kwargs)
        finally:
            row["latency_ms"] = round(1000 * (time.perf_counter() - t0), 1)
        row["status"] = resp.status_code
        row["request_id"] = self.scrub(resp.headers.get("x-request-id") or resp.headers.get("x-amzn-RequestId") or
                                       resp.headers.get("apim-request-id") or "")
        return resp

    def begin_request(self) -> dict[str, Any]:
        """Check the budget, wait for the rate limiter, count the request and open its log row."""
        if self.max_requests is not None and self.counts["sent"] >= self.max_requests:
            raise BudgetExhausted(f"target {self.name}: request budget max_requests={self.max_requests} used up; "
                                  "scored pairs are cached: re-run with a larger max_requests to finish")
        self.bucket.acquire()
        self.counts["sent"] += 1
        row: dict[str, Any] = {"time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                               "vendor": self.name, "request_id": "", "latency_ms": None, "status": None,
                               "retry": self._attempt, "code": ""}
        self.request_log.append(row)
        return row

    def scrub(self, text: str) -> str:
        """``text`` with every credential value (and token) replaced by ``***``."""
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    # ------------------------------------------------------------------ card

    def summary(self) -> dict[str, int]:
        c = self.counts
        return {"sent": c["sent"], "cached": c["cached"], "retried": c["retried"], "failed": c["failed"],
                "billable": c["billable"], "no_face": c["no_face"]}

    def card(self) -> dict[str, Any]:
        parts = urlsplit(self.url)
        return {**super().card(), "kind": "api", "vendor": self.vendor, "api_version": self.version,
                "endpoint": f"{parts.scheme}://{parts.netloc}",
                "credentials": {v: "read from the environment" for v in self.credential_vars},
                "sent": {"format": self.encoding.label, "min_side": self.min_side,
                         "sizes": [list(s) for s in sorted(self.sent_sizes)]},
                "model_versions": sorted(self.model_versions),
                "returned_thresholds": {k: sorted(v) for k, v in sorted(self.returned_thresholds.items())},
                "requests": {"summary": self.summary(), "log": self.request_log}}


def json_or_none(resp: requests.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None


def generic(resp: requests.Response) -> Reply:
    """A response the vendor's parser did not recognise: 429/5xx are retried, anything else stops the run."""
    retry = resp.status_code == 429 or resp.status_code >= 500
    return Reply("retry" if retry else "fatal", code=f"HTTP {resp.status_code}", message=resp.text[:120].strip(),
                 retry_after=retry_after_seconds(resp.headers.get("Retry-After")))


def _number(value: str | None, option: str, target: str, default: float, positive: bool = False) -> float:
    if value is None:
        return float(default)
    try:
        x = float(value)
    except ValueError:
        x = -1.0
    if not math.isfinite(x) or x < 0 or (positive and x == 0):
        raise BadInput(f"target {target}: option {option}={value!r} must be a {'positive' if positive else 'non-negative'} number")
    return x


def register(cls: type[ApiTarget]) -> type[ApiTarget]:
    """Register an adapter in ``TARGETS`` under ``cls.name``; its options are its ``__init__`` keywords."""
    import inspect

    from .. import TARGETS

    def factory(device, **options: str) -> ApiTarget:
        return cls(**options)

    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    factory.__signature__ = inspect.Signature([inspect.Parameter("device", inspect.Parameter.POSITIONAL_OR_KEYWORD),
                                               *params])
    TARGETS.add(cls.name, factory, (cls.__doc__ or "").strip().split("\n")[0])
    return cls
