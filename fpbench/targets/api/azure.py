"""Azure AI Face: detect each image (faceId, recognition_04) then verify the two faceIds; confidence 0-1 and
``isIdentical`` at 0.5. Verification is Limited Access: without Microsoft's approval the service answers 403
``UnsupportedFeature``, which stops the run with that code."""
from __future__ import annotations

import time

import requests

from .base import ApiTarget, Reply, VendorDecision, generic, json_or_none, register
from .limits import retry_after_seconds
from .payload import Sent

DETECT = "face/v1.0/detect?returnFaceId=true&recognitionModel=recognition_04&detectionModel=detection_03"
FACE_ID_TTL = 3600.0  # seconds a faceId is reused for (the service keeps them 24 h)


@register
class Azure(ApiTarget):
    """Azure AI Face detect + verify; credentials AZURE_FACE_KEY (endpoint AZURE_FACE_ENDPOINT)"""

    name = "azure"
    vendor = "Azure AI Face"
    version = "v1.0/recognition_04"
    credential_vars = ("AZURE_FACE_KEY",)
    url_var = "AZURE_FACE_ENDPOINT"
    default_url = ""  # each resource has its own endpoint
    default_qps = 20 / 60  # F0 tier: 20 transactions per minute
    requests_per_pair = 3  # detect, detect, verify (faceIds of repeated images are reused)
    min_side = 64  # face >= 36 px in <= 1920x1080

    def thresholds(self) -> VendorDecision:
        return VendorDecision(0.5, "Azure Face verify: isIdentical when confidence >= 0.5 (no FAR stated)")

    def _headers(self, content_type: str) -> dict[str, str]:
        return {"Ocp-Apim-Subscription-Key": self.credentials["AZURE_FACE_KEY"], "Content-Type": content_type}

    def face_id(self, image: Sent) -> str | Reply:
        ids: dict[str, tuple[str, float]] = self.__dict__.setdefault("_face_ids", {})
        cached = ids.get(image.sha256)
        if cached and time.monotonic() - cached[1] < FACE_ID_TTL:
            return cached[0]
        resp = self.http("POST", f"{self.url}/{DETECT}", data=image.data, headers=self._headers("application/octet-stream"))
        body = json_or_none(resp)
        if resp.status_code != 200 or not isinstance(body, list):
            return parse_error(resp)
        if not body:
            return Reply("no-face", code="no face detected")
        ids[image.sha256] = (str(body[0]["faceId"]), time.monotonic())  # the largest face comes first
        return ids[image.sha256][0]

    def request(self, a: Sent, b: Sent) -> Reply:
        faces = []
        for image in (a, b):
            face = self.face_id(image)
            if isinstance(face, Reply):
                return face
            faces.append(face)
        resp = self.http("POST", f"{self.url}/face/v1.0/verify", json={"faceId1": faces[0], "faceId2": faces[1]},
                         headers=self._headers("application/json"))
        body = json_or_none(resp)
        if resp.status_code == 200 and isinstance(body, dict) and "confidence" in body:
            return Reply("ok", score=float(body["confidence"]), request_id=resp.headers.get("apim-request-id", ""))
        if resp.status_code == 404:  # a faceId expired early: detect again on the retry
            self.__dict__.get("_face_ids", {}).clear()
            return Reply("retry", code="FaceNotFound")
        return parse_error(resp)


def parse_error(resp: requests.Response) -> Reply:
    body = json_or_none(resp)
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):
        return generic(resp)
    code = str(err.get("code") or resp.headers.get("x-ms-error-code", ""))
    retry = resp.status_code == 429 or resp.status_code >= 500
    return Reply("retry" if retry else "fatal", code=code if code != str(resp.status_code) else f"HTTP {code}",
                 message=str(err.get("message", "")), request_id=resp.headers.get("apim-request-id", ""),
                 retry_after=retry_after_seconds(resp.headers.get("Retry-After")))
