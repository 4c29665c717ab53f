"""Baidu AI face match v3: an OAuth access token (client credentials, valid 30 days, refreshed once on error
110/111 as the SDK does) in the query string and a JSON array of two images; score 0-100, errors as
``error_code``/``error_msg`` in the body whatever the HTTP status."""
from __future__ import annotations

import base64
import json

import requests

from .base import ApiTarget, Reply, VendorDecision, generic, json_or_none, register
from .payload import Sent

RETRY_CODES = {18, 4, 2}  # QPS limit, cluster limit, service temporarily unavailable
STOP_CODES = {17: "daily request limit reached", 19: "total request limit reached"}
TOKEN_CODES = {110, 111}  # invalid / expired access token
NO_FACE = {222202}


@register
class Baidu(ApiTarget):
    """Baidu AI face match v3; credentials BAIDU_API_KEY, BAIDU_SECRET_KEY"""

    name = "baidu"
    vendor = "Baidu AI"
    version = "v3"
    credential_vars = ("BAIDU_API_KEY", "BAIDU_SECRET_KEY")
    url_var = "FPBENCH_BAIDU_URL"
    default_url = "https://aip.baidubce.com"
    default_qps = 2.0  # the free tier's QPS is not published (UNCONF)
    min_side = 64

    def thresholds(self) -> VendorDecision:
        return VendorDecision(80.0, "Baidu face match documentation: recommended threshold 80 (no FAR stated)")

    def token(self, refresh: bool = False) -> str | Reply:
        if getattr(self, "_token", None) and not refresh:
            return self._token
        key, secret = (self.credentials[v] for v in self.credential_vars)
        resp = self.http("POST", f"{self.url}/oauth/2.0/token", params={
            "grant_type": "client_credentials", "client_id": key, "client_secret": secret})
        body = json_or_none(resp)
        if isinstance(body, dict) and body.get("access_token"):
            self._token = str(body["access_token"])
            self.secrets.append(self._token)
            return self._token
        if isinstance(body, dict) and "error" in body:
            return Reply("retry" if resp.status_code >= 500 else "fatal", code=str(body["error"]),
                         message=str(body.get("error_description", "")))
        return generic(resp)

    def request(self, a: Sent, b: Sent) -> Reply:
        body = json.dumps([{"image": base64.b64encode(x.data).decode(), "image_type": "BASE64", "face_type": "LIVE",
                            "quality_control": "NONE", "liveness_control": "NONE"} for x in (a, b)])
        for refresh in (False, True):
            token = self.token(refresh)
            if isinstance(token, Reply):
                return token
            reply = parse(self.http("POST", f"{self.url}/rest/2.0/face/v3/match", params={"access_token": token},
                                    data=body, headers={"Content-Type": "application/json"}))
            if reply.code not in {str(c) for c in TOKEN_CODES}:
                return reply
        return reply


def parse(resp: requests.Response) -> Reply:
    body = json_or_none(resp)
    if not isinstance(body, dict) or "error_code" not in body:
        return generic(resp)
    code, rid = int(body.get("error_code") or 0), str(body.get("log_id", ""))
    if code == 0 and isinstance(body.get("result"), dict) and "score" in body["result"]:
        return Reply("ok", score=float(body["result"]["score"]), request_id=rid)
    if code in NO_FACE:
        return Reply("no-face", code=str(code), request_id=rid)
    kind = "retry" if code in RETRY_CODES else "fatal"
    message = STOP_CODES.get(code, str(body.get("error_msg", "")))
    return Reply(kind, code=str(code), message=message, request_id=rid)
