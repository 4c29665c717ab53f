"""Mock of Aliyun facebody CompareFace: verifies RPC V2 (``Signature`` parameter) or ACS3 (``Authorization``
header) signatures, answers ``Data.Confidence`` with ``Data.Thresholds`` or the ``Code``/``Message`` envelope."""
from __future__ import annotations

import base64
import binascii
import re
import uuid
from urllib.parse import parse_qsl

from ..targets.api.signing import acs3_canonical_request, acs3_signature, rpc_signature, sha256_hex
from .base import Contract, Refused, Request, Response

ACS3 = re.compile(r"ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([a-z0-9;-]+),Signature=([0-9a-f]{64})$")


class AliyunContract(Contract):
    vendor = "aliyun"
    credential_vars = ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET")
    thresholds = [61.0, 69.0, 75.0]

    def _error(self, status: int, code: str, message: str) -> Response:
        return Response.json(status, {"RequestId": str(uuid.uuid4()).upper(), "HostId": "facebody.mock",
                                      "Code": code, "Message": message})

    def authenticate(self, req: Request) -> None:
        key_id, secret = (self.credentials[v] for v in self.credential_vars)
        params = dict(parse_qsl(req.body.decode("latin-1"), keep_blank_values=True))
        req.params = params  # type: ignore[attr-defined]
        m = ACS3.match(req.headers.get("authorization", ""))
        if m:
            given_id, signed, signature = m.groups()
            headers = {name: req.headers.get(name, "") for name in signed.split(";")}
            if req.headers.get("x-acs-content-sha256") != sha256_hex(req.body):
                raise Refused(self._error(400, "InvalidParameter", "x-acs-content-sha256 does not match the body"))
            expected = acs3_signature(secret, acs3_canonical_request(req.method, req.path, req.query, headers, req.body))
        elif "Signature" in params:
            given_id, signature = params.get("AccessKeyId", ""), params.pop("Signature")
            expected = rpc_signature(secret, {**req.query, **params}, req.method)
        else:
            raise Refused(self._error(400, "MissingSignature", "the request is not signed"))
        if given_id != key_id:
            raise Refused(self._error(400, "InvalidAccessKeyId.NotFound", "Specified access key is not found."))
        if signature != expected:
            raise Refused(self._error(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation."))

    def images(self, req: Request) -> tuple[bytes, bytes]:
        p = req.params  # type: ignore[attr-defined]
        try:
            return base64.b64decode(p["ImageDataA"]), base64.b64decode(p["ImageDataB"])
        except (KeyError, binascii.Error):
            raise Refused(self._error(400, "InvalidParameter", "ImageDataA and ImageDataB are required")) from None

    def scored(self, req: Request, score: float) -> Response:
        return Response.json(200, {"RequestId": str(uuid.uuid4()).upper(),
                                   "Data": {"Confidence": round(score, 4), "Thresholds": self.thresholds,
                                            "QualityScoreA": 99.0, "QualityScoreB": 99.0}})

    def no_face(self, req: Request) -> Response:
        return self._error(404, "InvalidImage.NotFoundFace", "no face found in the image")

    def throttled(self, req: Request) -> Response:
        return self._error(400, "Throttling.User", "Request was denied due to user flow control.")

    def server_error(self, req: Request) -> Response:
        return self._error(500, "InternalError", "The request processing has failed due to some unknown error.")

    def bad_image(self) -> Response:
        return self._error(400, "InvalidImage.DecodeError", "the image cannot be decoded")
