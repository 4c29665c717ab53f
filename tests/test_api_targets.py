"""Commercial-API targets against their local mock servers over real HTTP on loopback: decisions equal the
wrapped model's, faults are retried without losing pairs, a killed run resumes with only the missing
requests, credentials never reach a file, and auth errors stop the run in one line."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from fpbench.cache import cache_dir
from fpbench.errors import BadInput
from fpbench.runner import Runner
from fpbench.serve import contract_class, make_server
from fpbench.serve.base import Scorer
from fpbench.spec import RunSpec
from fpbench.targets import make_target
from fpbench.targets.api import ADAPTERS

CREDENTIALS = {"FACEPP_API_KEY": "planted-facepp-key-5c1e", "FACEPP_API_SECRET": "planted-facepp-secret-77aa",
               "TENCENTCLOUD_SECRET_ID": "planted-tencent-id-0b9d", "TENCENTCLOUD_SECRET_KEY": "planted-tencent-key-e4f2",
               "ALIBABA_CLOUD_ACCESS_KEY_ID": "planted-aliyun-id-2a7c",
               "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "planted-aliyun-secret-9e01",
               "BAIDU_API_KEY": "planted-baidu-key-41f0", "BAIDU_SECRET_KEY": "planted-baidu-secret-c3d8",
               "AZURE_FACE_KEY": "planted-azure-key-66b2",
               "AWS_ACCESS_KEY_ID": "AKIDPLANTED7F3E", "AWS_SECRET_ACCESS_KEY": "planted-aws-secret-0d5a"}
URL_VARS = {name: cls.url_var for name, cls in ADAPTERS.items()}
FAST = "qps=200,backoff=0.01,timeout=5"  # loopback: no pacing, short backoff
N_PAIRS = 22  # the mini set's impersonation pairs


@pytest.fixture(scope="module")
def cache(mini, embedded, tmp_path_factory):
    """A cache of its own (so nothing else writes there) that reuses the prepared data and model weights."""
    embedded("sface")
    embedded("mobilefacenet")
    base = cache_dir()
    root = tmp_path_factory.mktemp("api-cache")
    for part in ("packages", "weights", "data", "thresholds"):
        if (base / part).exists():
            (root / part).symlink_to(base / part)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FPBENCH_CACHE", str(root))
        for k, v in CREDENTIALS.items():
            mp.setenv(k, v)
        for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
            mp.delenv(k, raising=False)
        mp.setenv("AWS_CONFIG_FILE", str(root / "no-aws-config"))
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(root / "no-aws-credentials"))
        yield root


@pytest.fixture(scope="module")
def scorer(cache) -> Scorer:
    return Scorer("sface")


@pytest.fixture
def serve(scorer, monkeypatch):
    """Start mocks: serve('facepp', faults=...) -> server, pointed at by the adapter's URL variable."""
    servers = []

    def start(vendor: str, faults: str = "", **kw):
        wanted = contract_class(vendor).credential_vars
        server = make_server(vendor, faults=faults, credentials={k: CREDENTIALS[k] for k in wanted}, scorer=scorer, **kw)
        server.run_in_thread()
        servers.append(server)
        monkeypatch.setenv(URL_VARS[vendor], server.url)
        return server

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


def spec(*targets: str, **kw) -> RunSpec:
    return RunSpec(**{"method": "pgd", "targets": targets, "surrogates": ("mobilefacenet",),
                      "params": {"eps": 8 / 255, "steps": 2}, "far": 0.001, "quality": False, **kw})


def run(out: Path | None, *targets: str, **kw):
    return Runner(spec(*targets, **kw), out, progress=False).execute()


def rows(result, target: str):
    s = result.scores
    return s[s["target"] == target].reset_index(drop=True)


def api_card(result, name: str) -> dict:
    return next(t for t in result.card["targets"] if t["name"] == name)


@pytest.fixture(scope="module")
def local_cosines(cache):
    """sface's cosine of every pair (the model the mocks wrap), from a local run of the same protection."""
    return rows(run(None, "sface", far=0.01), "sface")["similarity"].to_numpy()


def test_decisions_equal_the_wrapped_model_at_the_mocks_threshold(cache, serve, scorer, local_cosines, tmp_path):
    serve("facepp"), serve("tencent")
    result = run(tmp_path, f"facepp:{FAST}", f"tencent:{FAST}")
    for name, tau in (("facepp", 65.3), ("tencent", 40.0)):
        r = rows(result, name)
        assert len(r) == N_PAIRS and (r["outcome"] == "scored").all() and (r["threshold"] == tau).all()
        assert (r["success"] == (local_cosines > scorer.tau)).all()
        assert api_card(result, name)["requests"]["summary"]["sent"] == N_PAIRS
    assert result.card["thresholds"]["tencent"]["far"]["0.001"]["kind"] == "vendor-documented"
    again = run(tmp_path, f"facepp:{FAST}", f"tencent:{FAST}")  # a re-run sends nothing
    for name in ("facepp", "tencent"):
        assert api_card(again, name)["requests"]["summary"] == {"sent": 0, "cached": N_PAIRS, "retried": 0,
                                                                 "failed": 0, "billable": 0, "no_face": 0}
    assert again.scores["similarity"].equals(result.scores["similarity"])


def test_throttling_and_server_errors_are_retried_without_losing_a_pair(cache, serve, local_cosines, tmp_path):
    servers = {v: serve(v, "429:0.2,500:0.05", seed=3) for v in ("facepp", "tencent")}
    result = run(tmp_path, f"facepp:{FAST},retries=8", f"tencent:{FAST},retries=8")
    for name, server in servers.items():
        r, card = rows(result, name), api_card(result, name)
        summary, log = card["requests"]["summary"], card["requests"]["log"]
        assert len(r) == N_PAIRS and r["similarity"].notna().all()
        assert (r["success"] == (local_cosines > server.scorer.tau)).all()
        faults = server.stats["fault:429"] + server.stats["fault:500"]
        assert faults > 0 and summary["retried"] == faults and summary["sent"] == N_PAIRS + faults
        assert sum(row["retry"] > 0 for row in log) == faults and len(log) == summary["sent"]
        assert {row["code"] for row in log} >= {"ok"} and summary["failed"] == 0


def test_no_face_is_its_own_outcome(cache, serve, tmp_path):
    server = serve("facepp", "noface:0.3", seed=1)
    result = run(tmp_path, f"facepp:{FAST}")
    r = rows(result, "facepp")
    no_face = r["outcome"] == "no-face"
    assert no_face.sum() == server.stats["fault:noface"] > 0
    assert r.loc[no_face, "similarity"].isna().all() and not r.loc[no_face, "success"].any()
    assert api_card(result, "facepp")["requests"]["summary"]["no_face"] == no_face.sum()


def test_killed_mid_run_resumes_with_only_the_missing_requests(cache, serve, tmp_path):
    """SIGKILL during scoring, then a re-run: it sends only what the cache lacks and equals an uninterrupted run."""
    server = serve("tencent")
    run(None, "sface", far=0.01)  # protected images cached: the subprocess goes straight to scoring
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH", "")])}
    argv = [sys.executable, "-m", "fpbench.cli.main", "run", "--method", "pgd", "--target", "tencent:qps=4",
            "--surrogate", "mobilefacenet", "--eps", str(8 / 255), "--steps", "2", "--far", "0.001", "--no-quality",
            "--quiet", "--out", str(tmp_path)]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    scores = cache / "api-scores" / make_target("tencent").cache_key
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and len(list(scores.rglob("*.json"))) < 5:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    done = len(list(scores.rglob("*.json")))
    assert 5 <= done < N_PAIRS, f"the run was not interrupted mid-scoring ({done} pairs cached)"
    resumed = run(tmp_path, f"tencent:{FAST}")
    summary = api_card(resumed, "tencent")["requests"]["summary"]
    assert summary["cached"] == done and summary["sent"] == N_PAIRS - done
    assert server.stats["scored"] <= N_PAIRS + 1  # at most one answer lost to the kill, none asked twice after
    serve("tencent")  # another server, another cache key: an uninterrupted run
    uninterrupted = run(None, f"tencent:{FAST}")
    assert np.array_equal(rows(resumed, "tencent")["similarity"], rows(uninterrupted, "tencent")["similarity"])


def test_planted_credentials_never_reach_a_file(cache, serve, tmp_path):
    serve("facepp", "429:0.2,noface:0.1", seed=5), serve("tencent", "500:0.2", seed=5)
    run(tmp_path, f"facepp:{FAST},retries=8", f"tencent:{FAST},retries=8")
    serve("tencent")  # a fresh cache key, so the wrong key below is sent
    os.environ["TENCENTCLOUD_SECRET_KEY"] = "planted-wrong-key-91c3"
    try:
        with pytest.raises(BadInput, match="AuthFailure.SignatureFailure"):
            run(tmp_path, f"tencent:{FAST}")
    finally:
        os.environ["TENCENTCLOUD_SECRET_KEY"] = CREDENTIALS["TENCENTCLOUD_SECRET_KEY"]
    secrets = [v.encode() for v in CREDENTIALS.values()] + [b"planted-wrong-key-91c3"]
    files = [p for root in (tmp_path, cache) for p in root.rglob("*") if p.is_file() and not p.is_symlink()
             and not any(part in ("packages", "weights", "data", "thresholds") for part in p.relative_to(root).parts[:1])]
    assert any(p.suffix == ".json" for p in files)
    leaks = [str(p) for p in files for s in secrets if s in p.read_bytes()]
    assert not leaks


@pytest.mark.parametrize("vendor,variable,code", [("tencent", "TENCENTCLOUD_SECRET_KEY", "AuthFailure.SignatureFailure"),
                                                  ("facepp", "FACEPP_API_SECRET", "AUTHENTICATION_ERROR")])
def test_a_wrong_key_is_one_line_exit_2_and_no_retry_storm(cache, serve, monkeypatch, capsys, tmp_path, vendor, variable, code):
    from fpbench.cli.main import main

    server = serve(vendor)
    monkeypatch.setenv(variable, "not-the-key")
    rc = main(["run", "--method", "pgd", "--target", f"{vendor}:{FAST}", "--surrogate", "mobilefacenet", "--eps",
               str(8 / 255), "--steps", "2", "--far", "0.001", "--no-quality", "--quiet", "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and code in err and "not-the-key" not in err
    assert server.stats["requests"] == 1


def test_the_budget_refuses_a_run_it_cannot_cover_before_any_request(cache, serve, tmp_path):
    server = serve("facepp")
    with pytest.raises(BadInput, match=f"needs at least {N_PAIRS} requests .* max_requests=5"):
        run(tmp_path, f"facepp:{FAST},max_requests=5")
    assert server.stats["requests"] == 0


def test_retries_are_bounded_and_a_plain_413_stops_the_run(cache, serve, tmp_path):
    server = serve("facepp", "500:1")
    with pytest.raises(BadInput, match="still INTERNAL_ERROR after 2 retries"):
        run(tmp_path, f"facepp:{FAST},retries=2")
    assert server.stats["requests"] == 3
    server = serve("facepp", "plain413:1")
    with pytest.raises(BadInput, match="413 Request Entity Too Large.*jpeg"):
        run(tmp_path, f"facepp:{FAST}")
    assert server.stats["requests"] == 1


def test_a_timeout_is_retried(cache, serve, tmp_path):
    server = serve("tencent", "timeout:0.1", seed=2, hang=1.0)
    result = run(tmp_path, "tencent:qps=200,backoff=0.01,timeout=0.3,retries=8")
    log = api_card(result, "tencent")["requests"]["log"]
    assert server.stats["fault:timeout"] > 0 and rows(result, "tencent")["similarity"].notna().all()
    assert sum(row["code"] == "timeout" for row in log) == server.stats["fault:timeout"]


VENDORS = [("aliyun", "aliyun"), ("aliyun", "aliyun:signature=v3"), ("baidu", "baidu"), ("azure", "azure"),
           ("rekognition", "rekognition")]
WRONG = {"aliyun": ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "SignatureDoesNotMatch"),
         "baidu": ("BAIDU_SECRET_KEY", "invalid_client"), "azure": ("AZURE_FACE_KEY", "HTTP 401"),
         "rekognition": ("AWS_SECRET_ACCESS_KEY", "InvalidSignatureException")}


def needs(vendor: str) -> None:
    if vendor == "rekognition":
        pytest.importorskip("boto3", reason="rekognition needs the optional extra fpbench[aws] (boto3), not installed")


@pytest.mark.parametrize("vendor,target", VENDORS)
def test_every_vendor_decides_as_the_wrapped_model_through_faults(cache, serve, local_cosines, tmp_path, vendor, target):
    needs(vendor)
    server = serve(vendor, "429:0.15,500:0.05", seed=4)
    name = target.partition(":")[0]
    result = run(tmp_path, f"{target}{',' if ':' in target else ':'}{FAST},retries=8")
    r, summary = rows(result, name), api_card(result, name)["requests"]["summary"]
    assert len(r) == N_PAIRS and r["similarity"].notna().all()
    assert (r["success"] == (local_cosines > server.scorer.tau)).all()
    faults = server.stats["fault:429"] + server.stats["fault:500"]
    assert faults > 0 and summary["retried"] == faults and summary["failed"] == 0


@pytest.mark.parametrize("vendor", sorted(WRONG))
def test_every_vendor_stops_on_a_wrong_key_in_one_line(cache, serve, monkeypatch, capsys, tmp_path, vendor):
    from fpbench.cli.main import main

    needs(vendor)
    variable, code = WRONG[vendor]
    server = serve(vendor)
    monkeypatch.setenv(variable, "not-the-key")
    rc = main(["run", "--method", "pgd", "--target", f"{vendor}:{FAST}", "--surrogate", "mobilefacenet", "--eps",
               str(8 / 255), "--steps", "2", "--far", "0.001", "--no-quality", "--quiet", "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and code in err and "not-the-key" not in err, err
    assert server.stats["requests"] == 1


def test_thresholds_the_service_returns_are_recorded_and_a_change_is_a_warning(cache, serve, tmp_path):
    server = serve("facepp")
    server.contract.thresholds = [62.0, 71.8, 76.5]  # the service moved its FAR 1e-3 threshold
    result = run(tmp_path, f"facepp:{FAST}")
    card = api_card(result, "facepp")
    assert card["returned_thresholds"]["0.001"] == [62.0] and (rows(result, "facepp")["threshold"] == 65.3).all()
    assert any("returned threshold 62 at FAR 0.001" in w for w in result.card["warnings"])
    assert all(len(row["sent"]) == 2 for row in card["requests"]["log"])
