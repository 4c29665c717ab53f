"""The vendors' official signing test vectors reproduce exactly (shared/reference/commercial-apis.md, section 1)."""
from __future__ import annotations

import pytest

from fpbench.targets.api.signing import (acs3_canonical_request, acs3_signature, rpc_signature, rpc_string_to_sign,
                                         sha256_hex, sigv4_canonical_request, sigv4_signature, tc3_authorization,
                                         tc3_canonical_request, tc3_signature)

TC3_BODY = '{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'.encode()
TC3_HEADERS = {"content-type": "application/json; charset=utf-8", "host": "cvm.tencentcloudapi.com"}


def test_tencent_tc3_vector():
    assert sha256_hex(TC3_BODY) == "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    cr = tc3_canonical_request(TC3_BODY, TC3_HEADERS)
    assert sha256_hex(cr) == "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
    sig = "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    assert tc3_signature("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", "cvm", 1551113065, cr) == sig
    auth = tc3_authorization("AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", "cvm",
                             1551113065, TC3_BODY, TC3_HEADERS)
    assert auth == ("TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, "
                    f"SignedHeaders=content-type;host, Signature={sig}")


def test_tencent_tc3_vector_of_the_newer_doc_signs_the_action():
    cr = tc3_canonical_request(TC3_BODY, {**TC3_HEADERS, "x-tc-action": "DescribeInstances"})
    assert sha256_hex(cr) == "7019a55be8395899b900fb5564e4200d984910f34794a27cb3fb7d10ff6a1e84"
    assert tc3_signature("*" * 32, "cvm", 1551113065, cr) == \
        "10b1a37a7301a02ca19a647ad722d5e43b4b3cff309d421d85b46093f6ab6c4f"


def test_aliyun_rpc_v2_vector():
    params = {"AccessKeyId": "testid", "Action": "DescribeRegions", "Format": "XML", "SignatureMethod": "HMAC-SHA1",
              "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf", "SignatureVersion": "1.0",
              "Timestamp": "2016-02-23T12:46:24Z", "Version": "2014-05-26"}
    assert rpc_string_to_sign(params, "GET") == (
        "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1"
        "%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0"
        "%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26")
    assert rpc_signature("testsecret", params, "GET") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


def test_aliyun_acs3_vector():
    query = {"ImageId": "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd", "RegionId": "cn-shanghai"}
    headers = {"host": "ecs.cn-shanghai.aliyuncs.com", "x-acs-action": "RunInstances", "x-acs-version": "2014-05-26",
               "x-acs-date": "2023-10-26T10:22:32Z", "x-acs-signature-nonce": "3156853299f313e23d1673dc12e1703d",
               "x-acs-content-sha256": sha256_hex(b"")}
    cr = acs3_canonical_request("POST", "/", query, headers, b"")
    assert sha256_hex(cr) == "7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
    assert acs3_signature("YourAccessKeySecret", cr) == "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"


SIGV4 = dict(key="AKIDEXAMPLE", secret="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", date="20150830T123600Z",
             cr_hash="bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
             signature="5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")


def test_aws_sigv4_get_vanilla_vector():
    cr = sigv4_canonical_request("GET", "/", "", {"host": "example.amazonaws.com", "x-amz-date": SIGV4["date"]}, b"")
    assert sha256_hex(cr) == SIGV4["cr_hash"]
    assert sigv4_signature(SIGV4["secret"], SIGV4["date"], "us-east-1", "service", cr) == SIGV4["signature"]


def test_botocore_signs_the_get_vanilla_vector_the_same_way():
    """What the rekognition adapter relies on: the SDK's own SigV4 gives the official signature."""
    pytest.importorskip("botocore", reason="boto3 is the optional extra fpbench[aws]; not installed here")
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    req = AWSRequest("GET", "https://example.amazonaws.com/", headers={"X-Amz-Date": SIGV4["date"]})
    auth = SigV4Auth(Credentials(SIGV4["key"], SIGV4["secret"]), "service", "us-east-1")
    req.context["timestamp"] = SIGV4["date"]  # botocore reads the signing time from here
    assert auth.signature(auth.string_to_sign(req, auth.canonical_request(req)), req) == SIGV4["signature"]
