"""Local mock servers of the commercial face-compare contracts (``fpbench serve VENDOR``): each verifies the
vendor's authentication, scores the images it receives with a local zoo model on the vendor's scale, answers
in the vendor's envelopes and injects seeded faults, so a paid campaign can be dry-run on loopback."""
from __future__ import annotations

import importlib
import os

from ..errors import BadInput
from .base import Contract, Faults, MockServer, Scorer

#: vendor -> "module:Contract"
CONTRACTS = {"facepp": "facepp:FacePPContract", "tencent": "tencent:TencentContract", "aliyun": "aliyun:AliyunContract",
             "rekognition": "rekognition:RekognitionContract", "azure": "azure:AzureContract", "baidu": "baidu:BaiduContract"}


def contract_class(vendor: str) -> type[Contract]:
    if vendor not in CONTRACTS:
        raise BadInput(f"no mock for {vendor!r}; available: {', '.join(CONTRACTS)}")
    module, _, cls = CONTRACTS[vendor].partition(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)


def make_server(vendor: str, model: str = "sface", port: int = 0, faults: str = "", seed: int = 0,
                credentials: dict[str, str] | None = None, tau: float | None = None, hang: float = 35.0,
                retry_after: float = 0.0, scorer: Scorer | None = None) -> MockServer:
    """A mock of ``vendor`` on 127.0.0.1:``port`` (0: a free port); credentials default to the environment
    variables the adapter reads, so the same settings work for both."""
    cls = contract_class(vendor)
    if credentials is None:
        missing = [v for v in cls.credential_vars if not os.environ.get(v)]
        if missing:
            raise BadInput(f"fpbench serve {vendor}: set {', '.join(missing)} (any values: the mock accepts exactly "
                           "the credentials the adapter will send)")
        credentials = {v: os.environ[v] for v in cls.credential_vars}
    try:
        server = MockServer(cls(credentials), scorer or Scorer(model, tau=tau), Faults(faults, seed), port, hang,
                            retry_after)
    except OSError as e:
        raise BadInput(f"fpbench serve: cannot listen on 127.0.0.1:{port} ({e.strerror or e})") from None
    return server
