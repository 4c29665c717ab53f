"""Mock of Face++ Compare v3: form or multipart fields, ``api_key``/``api_secret`` checked, confidence 0-100
with 3 decimals and the documentation's thresholds, Face++'s ``error_message`` envelope."""
from __future__ import annotations

import base64
import uuid
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qsl

from .base import Contract, Refused, Request, Response

THRESHOLDS = {"1e-3": 65.3, "1e-4": 71.8, "1e-5": 76.5}


def form(req: Request) -> dict[str, bytes]:
    """Fields of a multipart/form-data or urlencoded body."""
    ctype = req.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        msg = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {ctype}\r\n\r\n".encode() + req.body)
        return {part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
                for part in msg.iter_parts()}
    return {k: v.encode() for k, v in parse_qsl(req.body.decode("latin-1"))}


class FacePPContract(Contract):
    vendor = "facepp"
    credential_vars = ("FACEPP_API_KEY", "FACEPP_API_SECRET")
    thresholds = list(THRESHOLDS.values())

    def _error(self, status: int, message: str) -> Response:
        return Response.json(status, {"error_message": message, "request_id": uuid.uuid4().hex, "time_used": 1})

    def authenticate(self, req: Request) -> None:
        if req.path != "/facepp/v3/compare" or req.method != "POST":
            raise Refused(Response(404, b"Not Found", {"Content-Type": "text/plain"}))
        f = form(req)
        req.form = f  # type: ignore[attr-defined]
        if "api_key" not in f or "api_secret" not in f:
            raise Refused(self._error(400, "MISSING_ARGUMENTS: api_key"))
        key, secret = (self.credentials[v].encode() for v in self.credential_vars)
        if f["api_key"] != key or f["api_secret"] != secret:
            raise Refused(self._error(401, "AUTHENTICATION_ERROR"))

    def images(self, req: Request) -> tuple[bytes, bytes]:
        f = req.form  # type: ignore[attr-defined]
        out = []
        for i in ("1", "2"):
            data = f.get(f"image_file{i}") or (base64.b64decode(f[f"image_base64_{i}"]) if f"image_base64_{i}" in f else None)
            if data is None:
                raise Refused(self._error(400, f"MISSING_ARGUMENTS: image_file{i}"))
            out.append(data)
        return out[0], out[1]

    def scored(self, req: Request, score: float) -> Response:
        return Response.json(200, {"request_id": uuid.uuid4().hex, "time_used": 3, "confidence": round(score, 3),
                                   "thresholds": dict(zip(THRESHOLDS, self.thresholds)), "image_id1": "a", "image_id2": "b",
                                   "faces1": [{"face_token": "t1"}], "faces2": [{"face_token": "t2"}]})

    def no_face(self, req: Request) -> Response:
        return Response.json(200, {"request_id": uuid.uuid4().hex, "time_used": 3, "faces1": [], "faces2": [],
                                   "image_id1": "a", "image_id2": "b"})

    def throttled(self, req: Request) -> Response:
        return self._error(403, "CONCURRENCY_LIMIT_EXCEEDED")

    def server_error(self, req: Request) -> Response:
        return self._error(500, "INTERNAL_ERROR")

    def bad_image(self) -> Response:
        return self._error(400, "IMAGE_ERROR_UNSUPPORTED_FORMAT: image_file1")
