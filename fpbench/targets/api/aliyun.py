"""Aliyun (Alibaba Cloud) facebody CompareFace (2019-12-30), RPC style: form body signed with RPC V2
(HMAC-SHA1, the default) or ACS3-HMAC-SHA256 (``signature=v3``); confidence 0-100 and thresholds at FAR
1e-3/1e-4/1e-5 with every call."""
from __future__ import annotations

import base64
import uuid
from datetime import datetime, timezone
from urllib.parse import urlencode, urlsplit

import requests

from ...errors import BadInput
from .base import ApiTarget, Reply, generic, json_or_none, register
from .payload import Sent
from .signing import acs3_authorization, rpc_signature, sha256_hex

NO_FACE = {"InvalidImage.NotFoundFace"}
FARS = (1e-3, 1e-4, 1e-5)
FORM = "application/x-www-form-urlencoded"


@register
class Aliyun(ApiTarget):
    """Aliyun facebody CompareFace; credentials ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET"""

    name = "aliyun"
    vendor = "Aliyun"
    version = "2019-12-30"
    credential_vars = ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET")
    url_var = "FPBENCH_ALIYUN_URL"
    default_url = "https://facebody.cn-shanghai.aliyuncs.com"
    default_qps = 2.0  # free-tier QPS is not published (UNCONF)
    min_side = 64  # size limits are not published (UNCONF)
    documented = dict(zip(FARS, (61.0, 69.0, 75.0)))
    threshold_source = "Aliyun facebody CompareFace documentation (Data.Thresholds at FAR 1e-3/1e-4/1e-5)"

    def __init__(self, qps: str | None = None, max_requests: str | None = None, format: str = "png",
                 retries: str = "6", backoff: str = "1", timeout: str = "30", signature: str = "v2") -> None:
        if signature not in ("v2", "v3"):
            raise BadInput(f"target aliyun: signature={signature!r} is not v2 (RPC HMAC-SHA1) or v3 (ACS3-HMAC-SHA256)")
        self.signature = signature
        super().__init__(qps, max_requests, format, retries, backoff, timeout)

    def request(self, a: Sent, b: Sent) -> Reply:
        fields = {"ImageDataA": base64.b64encode(a.data).decode(), "ImageDataB": base64.b64encode(b.data).decode()}
        key_id, secret = (self.credentials[v] for v in self.credential_vars)
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        if self.signature == "v2":
            params = {"AccessKeyId": key_id, "Action": "CompareFace", "Format": "JSON", "SignatureMethod": "HMAC-SHA1",
                      "SignatureNonce": uuid.uuid4().hex, "SignatureVersion": "1.0", "Timestamp": now,
                      "Version": self.version, **fields}
            params["Signature"] = rpc_signature(secret, params, "POST")
            resp = self.http("POST", f"{self.url}/", data=urlencode(params), headers={"Content-Type": FORM})
            return parse(resp)
        body = urlencode(fields).encode()
        headers = {"host": urlsplit(self.url).netloc, "content-type": FORM, "x-acs-action": "CompareFace",
                   "x-acs-version": self.version, "x-acs-date": now, "x-acs-signature-nonce": uuid.uuid4().hex,
                   "x-acs-content-sha256": sha256_hex(body)}
        headers["Authorization"] = acs3_authorization(key_id, secret, "POST", "/", {}, headers, body)
        return parse(self.http("POST", f"{self.url}/", data=body, headers=headers))


def parse(resp: requests.Response) -> Reply:
    body = json_or_none(resp)
    if not isinstance(body, dict):
        return generic(resp)
    rid = str(body.get("RequestId", ""))
    code = str(body.get("Code", ""))
    if code and code not in ("200", "OK"):
        if code in NO_FACE:
            return Reply("no-face", code=code, request_id=rid)
        retry = code.startswith("Throttling") or code.startswith("InternalError") or resp.status_code >= 500
        return Reply("retry" if retry else "fatal", code=code, message=str(body.get("Message", "")), request_id=rid)
    data = body.get("Data")
    if resp.status_code == 200 and isinstance(data, dict) and "Confidence" in data:
        returned = data.get("Thresholds") or []
        thresholds = {str(far): float(t) for far, t in zip(FARS, returned)}
        return Reply("ok", score=float(data["Confidence"]), request_id=rid, thresholds=thresholds)
    return generic(resp)
