"""AWS Rekognition CompareFaces through boto3 (the optional extra ``fpbench[aws]``): the SDK's own SigV4
signing and credential chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, AWS_PROFILE,
instance roles), ``endpoint_url`` from FPBENCH_REKOGNITION_URL for a local mock. The SDK's own retries are
off: fpbench's limiter, backoff and request log handle every attempt."""
from __future__ import annotations

import os
import time
from typing import Any

from ...errors import BadInput
from .base import ApiTarget, Reply, VendorDecision, register
from .payload import Sent

RETRY_CODES = {"ThrottlingException", "ProvisionedThroughputExceededException", "InternalServerError",
               "ServiceUnavailableException", "LimitExceededException"}
NO_FACE = {"InvalidParameterException"}  # what CompareFaces raises when the source image has no face
AWS_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")


@register
class Rekognition(ApiTarget):
    """AWS Rekognition CompareFaces (boto3, fpbench[aws]); credentials from the AWS chain (AWS_ACCESS_KEY_ID, ...)"""

    name = "rekognition"
    vendor = "AWS Rekognition"
    version = "2016-06-27"
    url_var = "FPBENCH_REKOGNITION_URL"
    default_url = ""  # the regional endpoint, set per instance
    default_qps = 5.0  # TPS quotas vary by region (UNCONF)
    min_side = 80  # >= 80 px per side

    def __init__(self, qps: str | None = None, max_requests: str | None = None, format: str = "png",
                 retries: str = "6", backoff: str = "1", timeout: str = "30", region: str = "") -> None:
        self.region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        self.default_url = f"https://rekognition.{self.region}.amazonaws.com"
        super().__init__(qps, max_requests, format, retries, backoff, timeout)
        self.client = self._client()

    def read_credentials(self) -> dict[str, str]:
        """boto3 finds the credentials itself; the card lists which AWS variables were set, never their values."""
        self.credential_vars = tuple(v for v in AWS_VARS if os.environ.get(v))
        return {}

    def result_options(self) -> dict[str, Any]:
        return {**super().result_options(), "region": self.region}

    def _client(self):
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise BadInput("target rekognition needs boto3: pip install 'fpbench[aws]'") from None
        endpoint = os.environ.get(self.url_var) or None
        session = boto3.session.Session()
        creds = session.get_credentials()
        if creds is None:
            raise BadInput("target rekognition: no AWS credentials found; set AWS_ACCESS_KEY_ID and "
                           "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)")
        frozen = creds.get_frozen_credentials()
        self.secrets += [s for s in (frozen.access_key, frozen.secret_key, frozen.token) if s]
        config = Config(retries={"total_max_attempts": 1}, connect_timeout=self.timeout, read_timeout=self.timeout)
        return session.client("rekognition", region_name=self.region, endpoint_url=endpoint, config=config)

    def request(self, a: Sent, b: Sent) -> Reply:
        from botocore.exceptions import ClientError, ConnectionError as BotoConnectionError, ReadTimeoutError

        row = self.begin_request()
        t0 = time.perf_counter()
        try:
            out = self.client.compare_faces(SourceImage={"Bytes": a.data}, TargetImage={"Bytes": b.data},
                                            SimilarityThreshold=0.0, QualityFilter="NONE")
        except ClientError as e:
            meta = e.response.get("ResponseMetadata", {})
            row.update(status=meta.get("HTTPStatusCode"), request_id=meta.get("RequestId", ""))
            code = str(e.response.get("Error", {}).get("Code", ""))
            if code in NO_FACE:
                return Reply("no-face", code=code, request_id=row["request_id"])
            kind = "retry" if code in RETRY_CODES or (row["status"] or 0) >= 500 else "fatal"
            return Reply(kind, code=code, message=str(e.response.get("Error", {}).get("Message", "")),
                         request_id=row["request_id"])
        except ReadTimeoutError:
            return Reply("retry", code="timeout")
        except BotoConnectionError:
            return Reply("retry", code="connection-error")
        finally:
            row["latency_ms"] = round(1000 * (time.perf_counter() - t0), 1)
        meta = out.get("ResponseMetadata", {})
        row.update(status=meta.get("HTTPStatusCode"), request_id=meta.get("RequestId", ""))
        if out.get("FaceMatches"):
            return Reply("ok", score=float(out["FaceMatches"][0]["Similarity"]), request_id=row["request_id"])
        return Reply("no-face", code="no face in the target image", request_id=row["request_id"])

    def thresholds(self) -> VendorDecision:
        return VendorDecision(80.0, "AWS Rekognition CompareFaces default SimilarityThreshold 80 (no FAR stated)")
