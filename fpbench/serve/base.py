"""The shared half of the mock servers: a loopback ``ThreadingHTTPServer``, the local zoo model that scores the
decoded images on the vendor's scale, and seeded fault injection. Each vendor module supplies a ``Contract``:
how it authenticates, where the images are, and its envelopes for a score, no face, throttling and errors.

The standard library's ``http.server`` is used on purpose: a mock needs one thread per connection and raw
access to headers and body (to verify signatures byte for byte), nothing a framework adds, and it adds no
dependency to a package users install to benchmark.
"""
from __future__ import annotations

import io
import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import torch
from PIL import Image

from ..errors import BadInput
from ..images import from_uint8

FAULTS = ("429", "500", "timeout", "noface", "plain413")
MAX_BODY = 32 * 2**20


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: bytes


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, obj: Any, **headers: str) -> "Response":
        return cls(status, json.dumps(obj).encode(), {"Content-Type": "application/json", **headers})


class Refused(Exception):
    """Raised by a contract to answer with ``response`` (bad request, bad signature, undecodable image)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


class Faults:
    """``429:0.2,500:0.05,...``: each request draws once from a seeded generator and meets at most one fault."""

    def __init__(self, spec: str = "", seed: int = 0) -> None:
        self.rates: dict[str, float] = {}
        for item in filter(None, spec.split(",")):
            name, _, p = item.partition(":")
            try:
                rate = float(p)
            except ValueError:
                rate = -1.0
            if name not in FAULTS or not 0 <= rate <= 1:
                raise BadInput(f"--faults item {item!r}: expected NAME:PROBABILITY with NAME one of {', '.join(FAULTS)}")
            self.rates[name] = rate
        if sum(self.rates.values()) > 1:
            raise BadInput(f"--faults {spec!r}: the probabilities add up to more than 1")
        self.rng = random.Random(seed)
        self.lock = threading.Lock()

    def draw(self) -> str | None:
        with self.lock:
            u = self.rng.random()
        for name, rate in self.rates.items():
            if u < rate:
                return name
            u -= rate
        return None


class Scorer:
    """Cosine of a zoo model's embeddings, mapped to the vendor's scale through anchors: the model's cosine
    threshold ``tau`` goes to the vendor's first threshold, ``tau + 0.05`` and ``tau + 0.1`` to the next."""

    def __init__(self, model: str = "sface", size: int = 112, tau: float | None = None, device: str = "cpu") -> None:
        from ..zoo import load
        from ..zoo.names import resolve

        self.model_name, self.size = model, size
        self.model = load(resolve(model).zoo_name, torch.device(device)).eval()
        self.tau = float(tau) if tau is not None else stored_tau(resolve(model).zoo_name)
        self.lock = threading.Lock()

    def decode(self, data: bytes) -> torch.Tensor:
        """Bytes -> canonical (1, 3, size, size); an integer pixel-replication upscale is undone exactly."""
        with Image.open(io.BytesIO(data)) as im:
            im = im.convert("RGB")
            if im.width == im.height and im.width % self.size == 0:
                im = im.reduce(im.width // self.size)
            elif im.size != (self.size, self.size):
                im = im.resize((self.size, self.size), Image.BILINEAR)
            return from_uint8(np.asarray(im))

    @torch.no_grad()
    def embed(self, *images: bytes) -> torch.Tensor:
        x = torch.cat([self.decode(data) for data in images])
        with self.lock:
            return self.model(x)

    def cosine(self, a: bytes, b: bytes) -> float:
        e = self.embed(a, b)
        return float((e[0] * e[1]).sum())

    def scaled(self, cosine: float, thresholds: list[float], top: float) -> float:
        cos_anchors = [-1.0, *(self.tau + 0.05 * i for i in range(len(thresholds))), 1.0]
        return float(np.interp(cosine, cos_anchors, [0.0, *thresholds, top]))


def stored_tau(model: str) -> float:
    """The model's stored calibration at the smallest FAR it resolves (most impostor pairs wins), else 0.3."""
    from ..cache import subdir

    best: tuple[float, int, float] | None = None
    for path in subdir("thresholds").glob(f"{model}--*.json"):
        try:
            for far, e in json.loads(path.read_text())["estimates"].items():
                cand = (float(far), -int(e["n_impostor"]), float(e["tau"]))
                best = cand if best is None or cand < best else best
        except (ValueError, KeyError, TypeError):
            continue
    return best[2] if best else 0.3


class Contract:
    """One vendor's side of the wire; subclasses override what differs."""

    vendor = ""
    credential_vars: tuple[str, ...] = ()
    thresholds: list[float] = []  # the vendor's thresholds the model's tau (and tau+0.05, +0.1) map to
    top = 100.0

    def __init__(self, credentials: dict[str, str]) -> None:
        self.credentials = credentials

    def authenticate(self, req: Request) -> None:
        """Raise ``Refused`` with the vendor's auth error when the request is not signed with the credentials."""

    def images(self, req: Request) -> tuple[bytes, bytes]:
        raise NotImplementedError

    def scored(self, req: Request, score: float) -> Response:
        raise NotImplementedError

    def no_face(self, req: Request) -> Response:
        raise NotImplementedError

    def throttled(self, req: Request) -> Response:
        raise NotImplementedError

    def server_error(self, req: Request) -> Response:
        return Response.json(500, {"error": "internal error (injected)"})

    def bad_image(self) -> Response:
        return Response.json(400, {"error": "the image cannot be decoded"})

    def route(self, req: Request, server: "MockServer") -> Response:
        """Authenticate, maybe inject a fault, score; contracts with several endpoints override this."""
        self.authenticate(req)
        fault = server.faults.draw()
        if fault:
            server.stats[f"fault:{fault}"] += 1
            return server.fault_response(self, req, fault)
        a, b = self.images(req)
        score = server.score(a, b, self)
        server.stats["scored"] += 1
        return self.scored(req, score)


class MockServer(ThreadingHTTPServer):
    """A vendor contract on 127.0.0.1; ``stats`` counts requests, scores and faults."""

    daemon_threads = True

    def __init__(self, contract: Contract, scorer: Scorer, faults: Faults, port: int = 0, hang: float = 35.0,
                 retry_after: float = 0.0) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.contract, self.scorer, self.faults = contract, scorer, faults
        self.hang, self.retry_after = hang, retry_after
        self.stats: Counter[str] = Counter()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def score(self, a: bytes, b: bytes, contract: Contract) -> float:
        try:
            cosine = self.scorer.cosine(a, b)
        except (OSError, ValueError, Image.DecompressionBombError):
            raise Refused(contract.bad_image()) from None
        return self.scorer.scaled(cosine, contract.thresholds, contract.top)

    def fault_response(self, contract: Contract, req: Request, fault: str) -> Response:
        if fault == "timeout":
            time.sleep(self.hang)
            return contract.server_error(req)
        if fault == "plain413":
            return Response(413, b"<html><body>413 Request Entity Too Large</body></html>", {"Content-Type": "text/html"})
        if fault == "noface":
            return contract.no_face(req)
        resp = contract.throttled(req) if fault == "429" else contract.server_error(req)
        if fault == "429":
            resp.headers.setdefault("Retry-After", f"{self.retry_after:g}")
        return resp

    def run_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, daemon=True)
        thread.start()
        return thread


class Handler(BaseHTTPRequestHandler):
    server: MockServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the stats say what happened
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self._send(Response(413 if length > MAX_BODY else 400, b"bad Content-Length", {"Content-Type": "text/plain"}))
            return
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        req = Request(self.command, parts.path, dict(parse_qsl(parts.query, keep_blank_values=True)),
                      {k.lower(): v for k, v in self.headers.items()}, body)
        self.server.stats["requests"] += 1
        try:
            resp = self.server.contract.route(req, self.server)
        except Refused as e:
            self.server.stats["refused"] += 1
            resp = e.response
        self._send(resp)

    def _send(self, resp: Response) -> None:
        try:
            self.send_response(resp.status)
            for k, v in resp.headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(resp.body)))
            self.end_headers()
            self.wfile.write(resp.body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (an injected timeout)
            pass
