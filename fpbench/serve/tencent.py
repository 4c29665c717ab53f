"""Mock of Tencent Cloud IAI CompareFace: verifies the TC3-HMAC-SHA256 signature and the 5-minute clock
window, answers HTTP 200 with ``Response.Score`` or ``Response.Error``."""
from __future__ import annotations

import base64
import binascii
import json
import re
import time
import uuid

from ..targets.api.signing import tc3_signature, tc3_canonical_request
from .base import Contract, Refused, Request, Response

AUTH = re.compile(r"TC3-HMAC-SHA256 Credential=([^/]+)/(\d{4}-\d{2}-\d{2})/(\w+)/tc3_request, "
                  r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$")


class TencentContract(Contract):
    vendor = "tencent"
    credential_vars = ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY")
    thresholds = [40.0, 50.0, 60.0]  # FAR 1e-3 / 1e-4 / 1e-5 on FaceModelVersion 3.0

    def _error(self, code: str, message: str) -> Response:
        return Response.json(200, {"Response": {"Error": {"Code": code, "Message": message},
                                                "RequestId": str(uuid.uuid4())}})

    def authenticate(self, req: Request) -> None:
        h = req.headers
        if req.method != "POST" or h.get("x-tc-action") != "CompareFace":
            raise Refused(self._error("InvalidAction", "the mock implements CompareFace only"))
        m = AUTH.match(h.get("authorization", ""))
        if not m:
            raise Refused(self._error("AuthFailure.InvalidAuthorization", "Authorization header is malformed"))
        secret_id, _, service, signed, signature = m.groups()
        if secret_id != self.credentials["TENCENTCLOUD_SECRET_ID"]:
            raise Refused(self._error("AuthFailure.SecretIdNotFound", "The SecretId is not found"))
        ts = int(h.get("x-tc-timestamp", "0") or 0)
        if abs(time.time() - ts) > 300:
            raise Refused(self._error("AuthFailure.SignatureExpire", "Signature expired"))
        headers = {name: h.get(name, "") for name in signed.split(";")}
        cr = tc3_canonical_request(req.body, headers)
        if tc3_signature(self.credentials["TENCENTCLOUD_SECRET_KEY"], service, ts, cr) != signature:
            raise Refused(self._error("AuthFailure.SignatureFailure", "The provided credentials could not be validated"))

    def images(self, req: Request) -> tuple[bytes, bytes]:
        try:
            body = json.loads(req.body)
            return base64.b64decode(body["ImageA"]), base64.b64decode(body["ImageB"])
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise Refused(self._error("InvalidParameterValue", "ImageA and ImageB must be base64 images")) from None

    def scored(self, req: Request, score: float) -> Response:
        return Response.json(200, {"Response": {"Score": round(score, 4), "FaceModelVersion": "3.0",
                                                "RequestId": str(uuid.uuid4())}})

    def no_face(self, req: Request) -> Response:
        return self._error("InvalidParameterValue.NoFaceInPhoto", "no face in the photo")

    def throttled(self, req: Request) -> Response:
        return self._error("RequestLimitExceeded", "request limit exceeded")

    def server_error(self, req: Request) -> Response:
        return self._error("InternalError", "internal error")

    def bad_image(self) -> Response:
        return self._error("FailedOperation.ImageDecodeFailed", "image decode failed")
