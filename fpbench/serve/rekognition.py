"""Mock of AWS Rekognition CompareFaces (JSON 1.1 protocol): verifies the SigV4 signature, answers
``FaceMatches[].Similarity`` 0-100 or ``{"__type": ...}`` errors with ``x-amzn-RequestId``."""
from __future__ import annotations

import base64
import binascii
import json
import re
import uuid

from ..targets.api.signing import sigv4_canonical_request, sigv4_signature
from .base import Contract, Refused, Request, Response

AUTH = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                  r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$")


class RekognitionContract(Contract):
    vendor = "rekognition"
    credential_vars = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    thresholds = [80.0]

    def _error(self, status: int, code: str, message: str) -> Response:
        return Response(status, json.dumps({"__type": code, "message": message}).encode(),
                         {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": str(uuid.uuid4())})

    def authenticate(self, req: Request) -> None:
        if req.headers.get("x-amz-target") != "RekognitionService.CompareFaces":
            raise Refused(self._error(400, "UnknownOperationException", "the mock implements CompareFaces only"))
        m = AUTH.match(req.headers.get("authorization", ""))
        if not m:
            raise Refused(self._error(403, "MissingAuthenticationTokenException", "Missing Authentication Token"))
        key_id, _, region, service, signed, signature = m.groups()
        key, secret = (self.credentials[v] for v in self.credential_vars)
        if key_id != key:
            raise Refused(self._error(400, "UnrecognizedClientException", "The security token included in the request is invalid."))
        headers = {name: req.headers.get(name, "") for name in signed.split(";")}
        cr = sigv4_canonical_request(req.method, req.path, "", headers, req.body)
        if sigv4_signature(secret, req.headers.get("x-amz-date", ""), region, service, cr) != signature:
            raise Refused(self._error(403, "InvalidSignatureException", "The request signature we calculated does not "
                                      "match the signature you provided."))

    def images(self, req: Request) -> tuple[bytes, bytes]:
        try:
            body = json.loads(req.body)
            return base64.b64decode(body["SourceImage"]["Bytes"]), base64.b64decode(body["TargetImage"]["Bytes"])
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise Refused(self._error(400, "InvalidParameterException", "Request has invalid parameters")) from None

    def scored(self, req: Request, score: float) -> Response:
        face = {"BoundingBox": {"Width": 0.6, "Height": 0.7, "Left": 0.2, "Top": 0.1}, "Confidence": 99.9}
        return Response(200, json.dumps({"SourceImageFace": face, "UnmatchedFaces": [],
                                         "FaceMatches": [{"Similarity": round(score, 5), "Face": face}]}).encode(),
                        {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": str(uuid.uuid4())})

    def no_face(self, req: Request) -> Response:
        return self._error(400, "InvalidParameterException", "Request has invalid parameters")

    def throttled(self, req: Request) -> Response:
        return self._error(400, "ProvisionedThroughputExceededException", "Provisioned rate exceeded")

    def server_error(self, req: Request) -> Response:
        return self._error(500, "InternalServerError", "Internal server error")

    def bad_image(self) -> Response:
        return self._error(400, "InvalidImageFormatException", "Request has invalid image format")
