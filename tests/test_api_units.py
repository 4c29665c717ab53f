"""Pieces of the commercial-API targets that need no server: pacing, backoff, fault plans, what is sent,
options, and `fpbench serve` as a real process on loopback."""
from __future__ import annotations

import io
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import requests
import torch
from PIL import Image

from fpbench.errors import BadInput
from fpbench.serve.base import Faults
from fpbench.targets import make_target, parse_target
from fpbench.targets.api.limits import MAX_WAIT, TokenBucket, backoff_seconds, retry_after_seconds
from fpbench.targets.api.payload import Encoding, encode


def test_the_token_bucket_paces_requests_at_its_rate():
    bucket = TokenBucket(20.0)
    t0 = time.monotonic()
    for _ in range(11):
        bucket.acquire()
    assert 0.45 <= time.monotonic() - t0 < 1.5  # 1 burst token + 10 more at 20/s


def test_backoff_grows_with_jitter_and_never_undercuts_retry_after():
    rng = random.Random(0)
    waits = [backoff_seconds(k, 1.0, None, rng) for k in range(4)]
    assert all(2 ** k / 2 <= w <= 2 ** k for k, w in enumerate(waits)) and len(set(waits)) == 4
    assert backoff_seconds(0, 0.01, 7.0, rng) == 7.0
    assert retry_after_seconds("3") == 3.0 and retry_after_seconds("99999") == MAX_WAIT
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0 and retry_after_seconds("soon") is None


def test_fault_plans_are_seeded_and_checked():
    a, b = Faults("429:0.3,500:0.1", seed=7), Faults("429:0.3,500:0.1", seed=7)
    draws = [a.draw() for _ in range(200)]
    assert draws == [b.draw() for _ in range(200)] and 40 < draws.count("429") < 80
    for bad in ("418:0.1", "429:2", "429:0.7,500:0.5", "429"):
        with pytest.raises(BadInput):
            Faults(bad)


def test_png_is_sent_losslessly_and_upscaled_by_pixel_replication():
    x = torch.rand(3, 112, 112)
    sent = encode(x, Encoding.parse("png", "t"), min_side=256)
    assert (sent.width, sent.height, sent.upscale) == (336, 336, 3)
    back = torch.from_numpy(np.array(Image.open(io.BytesIO(sent.data)).reduce(3))).permute(2, 0, 1)
    assert torch.equal(back, x.mul(255).round().to(torch.uint8))
    jpeg = encode(x, Encoding.parse("jpeg:90", "t"), min_side=64)
    assert jpeg.data[:2] == b"\xff\xd8" and jpeg.upscale == 1
    assert Encoding.parse("jpeg95", "t") == Encoding("jpeg", 95) and Encoding.parse("jpg", "t").quality == 95
    with pytest.raises(BadInput, match="format='webp'"):
        Encoding.parse("webp", "facepp")


def test_credentials_come_from_the_environment_only(monkeypatch):
    monkeypatch.delenv("FACEPP_API_SECRET", raising=False)
    monkeypatch.setenv("FACEPP_API_KEY", "k")
    with pytest.raises(BadInput, match="set the environment variable.*FACEPP_API_SECRET"):
        make_target("facepp")
    with pytest.raises(BadInput, match="looks like a secret"):
        parse_target("facepp:api_secret=abc")
    monkeypatch.setenv("FACEPP_API_SECRET", "s")
    card = make_target("facepp:qps=2").card()
    assert card["credentials"] == {"FACEPP_API_KEY": "read from the environment",
                                   "FACEPP_API_SECRET": "read from the environment"}
    with pytest.raises(BadInput, match="qps='fast'"):
        make_target("facepp:qps=fast")


def test_fpbench_serve_answers_over_http(mini, embedded, monkeypatch):
    embedded("sface")
    env = {**os.environ, "FACEPP_API_KEY": "key-a", "FACEPP_API_SECRET": "secret-b",
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "fpbench.cli.main", "serve", "facepp", "--port", "0"], env=env,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        url = line.split("export FPBENCH_FACEPP_URL=")[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        img = io.BytesIO()
        Image.new("RGB", (112, 112), (120, 90, 80)).save(img, format="PNG")
        files = {"image_file1": ("a.png", img.getvalue()), "image_file2": ("b.png", img.getvalue())}
        ok = requests.post(f"{url}/facepp/v3/compare", data={"api_key": "key-a", "api_secret": "secret-b"},
                           files=files, timeout=30).json()
        assert ok["confidence"] == 100.0 and ok["thresholds"]["1e-3"] == 65.3
        denied = requests.post(f"{url}/facepp/v3/compare", data={"api_key": "key-a", "api_secret": "x"}, files=files,
                               timeout=30)
        assert denied.status_code == 401 and denied.json()["error_message"] == "AUTHENTICATION_ERROR"
    finally:
        proc.terminate()
        proc.wait(30)
