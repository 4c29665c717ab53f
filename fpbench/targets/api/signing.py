"""Request signing of the vendors that sign (Tencent TC3, Aliyun RPC V2 and ACS3, AWS SigV4), written once and
used by both the adapters and the mock servers (which verify what they receive). Each function reproduces
the vendor's official test vector (tests/test_api_signing.py); the steps are in
shared/reference/commercial-apis.md section 1."""
from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timezone
from urllib.parse import quote


def sha256_hex(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def _hmac(key: bytes, msg: str, algo=hashlib.sha256) -> bytes:
    return hmac.new(key, msg.encode(), algo).digest()


# ------------------------------------------------------------------ Tencent TC3-HMAC-SHA256

def tc3_canonical_request(body: bytes, headers: dict[str, str], method: str = "POST", query: str = "") -> str:
    """``headers``: the signed headers (lower-cased names), e.g. content-type and host."""
    names = sorted(k.lower() for k in headers)
    lowered = {k.lower(): v for k, v in headers.items()}
    canonical_headers = "".join(f"{k}:{lowered[k].strip().lower()}\n" for k in names)
    return "\n".join([method, "/", query, canonical_headers, ";".join(names), sha256_hex(body)])


def tc3_signature(secret_key: str, service: str, timestamp: int, canonical_request: str) -> str:
    date = datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d")
    scope = f"{date}/{service}/tc3_request"
    to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{sha256_hex(canonical_request)}"
    key = _hmac(("TC3" + secret_key).encode(), date)
    key = _hmac(key, service)
    key = _hmac(key, "tc3_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def tc3_authorization(secret_id: str, secret_key: str, service: str, timestamp: int, body: bytes,
                      headers: dict[str, str]) -> str:
    """The ``Authorization`` header value for a POST with ``headers`` signed."""
    date = datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d")
    signature = tc3_signature(secret_key, service, timestamp, tc3_canonical_request(body, headers))
    signed = ";".join(sorted(k.lower() for k in headers))
    return (f"TC3-HMAC-SHA256 Credential={secret_id}/{date}/{service}/tc3_request, SignedHeaders={signed}, "
            f"Signature={signature}")


# ------------------------------------------------------------------ Aliyun RPC V2 (HMAC-SHA1) and ACS3

def percent_encode(value: str) -> str:
    """RFC 3986: only ``A-Za-z0-9-_.~`` stay unescaped."""
    return quote(str(value), safe="-_.~")


def rpc_string_to_sign(params: dict[str, str], method: str = "POST") -> str:
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"


def rpc_signature(secret: str, params: dict[str, str], method: str = "POST") -> str:
    """``Signature`` of the parameters (without ``Signature`` itself): base64 HMAC-SHA1 keyed by secret + '&'."""
    digest = hmac.new((secret + "&").encode(), rpc_string_to_sign(params, method).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def acs3_canonical_request(method: str, uri: str, query: dict[str, str], headers: dict[str, str], body: bytes) -> str:
    """Signs ``host``, ``content-type`` (when present) and every ``x-acs-*`` header."""
    q = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(query.items()))
    lowered = {k.lower(): v.strip() for k, v in headers.items()}
    names = sorted(k for k in lowered if k in ("host", "content-type") or k.startswith("x-acs-"))
    canonical_headers = "".join(f"{k}:{lowered[k]}\n" for k in names)
    return "\n".join([method, uri, q, canonical_headers, ";".join(names), sha256_hex(body)])


def acs3_signature(secret: str, canonical_request: str) -> str:
    to_sign = f"ACS3-HMAC-SHA256\n{sha256_hex(canonical_request)}"
    return hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()


def acs3_authorization(key_id: str, secret: str, method: str, uri: str, query: dict[str, str],
                       headers: dict[str, str], body: bytes) -> str:
    cr = acs3_canonical_request(method, uri, query, headers, body)
    signed = cr.split("\n")[-2]
    return f"ACS3-HMAC-SHA256 Credential={key_id},SignedHeaders={signed},Signature={acs3_signature(secret, cr)}"


# ------------------------------------------------------------------ AWS SigV4 (the mock verifies with it)

def sigv4_canonical_request(method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> str:
    lowered = {k.lower(): " ".join(v.strip().split()) for k, v in headers.items()}
    names = sorted(lowered)
    canonical_headers = "".join(f"{k}:{lowered[k]}\n" for k in names)
    return "\n".join([method, path, query, canonical_headers, ";".join(names), sha256_hex(body)])


def sigv4_signature(secret: str, amz_date: str, region: str, service: str, canonical_request: str) -> str:
    date = amz_date[:8]
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{sha256_hex(canonical_request)}"
    key = _hmac(("AWS4" + secret).encode(), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
