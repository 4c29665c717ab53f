"""Mock of Baidu AI: the OAuth token endpoint (client credentials) and face match v3 with ``access_token`` in
the query; answers ``error_code``/``error_msg`` envelopes with HTTP 200, as the service does."""
from __future__ import annotations

import base64
import binascii
import json
import secrets
import threading
import time

from .base import Contract, Refused, Request, Response


class BaiduContract(Contract):
    vendor = "baidu"
    credential_vars = ("BAIDU_API_KEY", "BAIDU_SECRET_KEY")
    thresholds = [80.0]

    def __init__(self, credentials: dict[str, str]) -> None:
        super().__init__(credentials)
        self.tokens: set[str] = set()
        self.lock = threading.Lock()

    def _envelope(self, code: int, message: str, result=None) -> Response:
        return Response.json(200, {"error_code": code, "error_msg": message, "log_id": secrets.randbelow(10**12),
                                   "timestamp": int(time.time()), "cached": 0, "result": result})

    def route(self, req, server):
        if req.path == "/oauth/2.0/token":
            server.stats["tokens"] += 1
            return self.token(req)
        return super().route(req, server)

    def token(self, req: Request) -> Response:
        q = req.query
        if (q.get("client_id"), q.get("client_secret")) != tuple(self.credentials[v] for v in self.credential_vars):
            return Response.json(401, {"error": "invalid_client", "error_description": "unknown client id"})
        token = f"24.{secrets.token_hex(16)}.2592000.mock"
        with self.lock:
            self.tokens.add(token)
        return Response.json(200, {"access_token": token, "expires_in": 2592000,
                                   "scope": "public brain_all_scope vis-faceverify_faceverify_h5-face-liveness"})

    def authenticate(self, req: Request) -> None:
        if req.path != "/rest/2.0/face/v3/match":
            raise Refused(self._envelope(3, "Unsupported openapi method"))
        if req.query.get("access_token") not in self.tokens:
            raise Refused(self._envelope(110, "Access token invalid or no longer valid"))

    def images(self, req: Request) -> tuple[bytes, bytes]:
        try:
            a, b = json.loads(req.body)
            return base64.b64decode(a["image"]), base64.b64decode(b["image"])
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise Refused(self._envelope(222001, "param[image] format error")) from None

    def scored(self, req: Request, score: float) -> Response:
        return self._envelope(0, "SUCCESS", {"score": round(score, 5), "face_list": [{"face_token": "a"},
                                                                                   {"face_token": "b"}]})

    def no_face(self, req: Request) -> Response:
        return self._envelope(222202, "pic not has face")

    def throttled(self, req: Request) -> Response:
        return self._envelope(18, "Open api qps request limit reached")

    def server_error(self, req: Request) -> Response:
        return self._envelope(2, "Service temporarily unavailable")

    def bad_image(self) -> Response:
        return self._envelope(222203, "image check fail")
