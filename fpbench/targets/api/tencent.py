"""Tencent Cloud IAI CompareFace (2020-03-03): JSON body signed with TC3-HMAC-SHA256; score 0-100; errors come
as HTTP 200 with ``Response.Error``; thresholds documented per face model version."""
from __future__ import annotations

import base64
import json
import os
import time
from urllib.parse import urlsplit

import requests

from ...errors import BadInput
from .base import ApiTarget, Reply, generic, json_or_none, register
from .payload import Sent
from .signing import tc3_authorization

RETRY_CODES = {"RequestLimitExceeded", "FailedOperation.RequestLimitExceeded", "InternalError",
               "FailedOperation.InnerError", "ResourceUnavailable"}
NO_FACE = {"InvalidParameterValue.NoFaceInPhoto"}
#: FAR -> score, per FaceModelVersion (CompareFace documentation)
DOCUMENTED = {"3.0": {1e-3: 40.0, 1e-4: 50.0, 1e-5: 60.0}, "2.0": {1e-3: 70.0, 1e-4: 80.0, 1e-5: 90.0}}
CONTENT_TYPE = "application/json; charset=utf-8"


@register
class Tencent(ApiTarget):
    """Tencent Cloud IAI CompareFace; credentials TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY"""

    name = "tencent"
    vendor = "Tencent Cloud"
    version = "2020-03-03"
    credential_vars = ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY")
    url_var = "FPBENCH_TENCENT_URL"
    default_url = "https://iai.tencentcloudapi.com"
    default_qps = 5.0  # default QPS is not published (UNCONF)
    min_side = 64  # short side >= 64 px

    def __init__(self, qps: str | None = None, max_requests: str | None = None, format: str = "png",
                 retries: str = "6", backoff: str = "1", timeout: str = "30", model: str = "3.0",
                 region: str = "") -> None:
        if model not in DOCUMENTED:
            raise BadInput(f"target tencent: model={model!r} is not a FaceModelVersion with documented thresholds "
                           f"({', '.join(DOCUMENTED)})")
        self.face_model, self.region = model, region or os.environ.get("TENCENTCLOUD_REGION", "")
        self.documented = DOCUMENTED[model]
        self.threshold_source = f"Tencent IAI CompareFace documentation, FaceModelVersion {model}"
        super().__init__(qps, max_requests, format, retries, backoff, timeout)

    def result_options(self) -> dict:
        return {**super().result_options(), "model": self.face_model}

    def request(self, a: Sent, b: Sent) -> Reply:
        secret_id, secret_key = (self.credentials[v] for v in self.credential_vars)
        body = json.dumps({"ImageA": base64.b64encode(a.data).decode(), "ImageB": base64.b64encode(b.data).decode(),
                           "FaceModelVersion": self.face_model, "QualityControl": 0, "NeedRotateDetection": 0}).encode()
        host = urlsplit(self.url).netloc
        ts = int(time.time())
        headers = {"Content-Type": CONTENT_TYPE, "Host": host, "X-TC-Action": "CompareFace",
                   "X-TC-Version": self.version, "X-TC-Timestamp": str(ts),
                   "Authorization": tc3_authorization(secret_id, secret_key, "iai", ts, body,
                                                      {"content-type": CONTENT_TYPE, "host": host})}
        if self.region:
            headers["X-TC-Region"] = self.region
        return parse(self.http("POST", f"{self.url}/", data=body, headers=headers))


def parse(resp: requests.Response) -> Reply:
    body = json_or_none(resp)
    r = body.get("Response") if isinstance(body, dict) else None
    if not isinstance(r, dict):
        return generic(resp)
    rid = str(r.get("RequestId", ""))
    err = r.get("Error")
    if isinstance(err, dict):
        code = str(err.get("Code", ""))
        if code in NO_FACE:
            return Reply("no-face", code=code, request_id=rid)
        kind = "retry" if code in RETRY_CODES or code.startswith("InternalError") else "fatal"
        return Reply(kind, code=code, message=str(err.get("Message", "")), request_id=rid)
    if resp.status_code == 200 and "Score" in r:
        return Reply("ok", score=float(r["Score"]), request_id=rid, model_version=str(r.get("FaceModelVersion", "")))
    return generic(resp)
