"""The fuzz corpus (scripts/fuzz_corpus.py) keeps finding nothing: its fast cases (hostile pickle, YAML tag,
manifest id, sweep name, user index, method parameter, alias bomb; no models) run here, and its checks are
checked: a traceback, a marker file, a file outside the case folder and a multi-line error are each counted."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
sys.path.insert(0, str(SCRIPTS))

from fuzz_cases import Case, Ctx  # noqa: E402
from fuzz_corpus import Corpus, Outcome  # noqa: E402
from fuzz_table import CASES  # noqa: E402


def test_the_fast_cases_of_the_corpus_find_nothing():
    assert 5 <= sum(c.fast for c in CASES) <= 10 and not any(c.fast and c.cache != "empty" for c in CASES)
    out = subprocess.run([sys.executable, str(SCRIPTS / "fuzz_corpus.py"), "--fast", "--jobs", "2"],
                         capture_output=True, text=True, timeout=900)
    summary = out.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"\d+ cases: 0 tracebacks, 0 code executions, 0 writes outside, 0 internal errors, "
                        r"0 multi-line errors, 0 unexpected exit codes, 0 timeouts, 0 set-up failures", summary), \
        out.stdout[-4000:]
    assert out.returncode == 0


@pytest.fixture
def corpus(tmp_path) -> Corpus:
    return Corpus(tmp_path / "corpus", None, sys.executable, 60)


def judged(corpus: Corpus, procs: list, case: Case | None = None, before=None) -> dict[str, str]:
    case = case or Case("c", "test", ("list", "methods"))
    ctx = corpus.prepare(case)
    if before:
        before(ctx)
    outcome = Outcome(case)
    corpus._judge(outcome, ctx, procs)
    return outcome.problems


def test_a_clean_one_line_refusal_is_no_finding(corpus):
    assert judged(corpus, [(2, "", "warning: cache entry x deleted\nerror: bad value\n")]) == {}


@pytest.mark.parametrize("proc, problem", [
    ((3, "", "error: internal error in fpbench: KeyError: 'x'\n"), "internal errors"),
    ((1, "", "Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\nValueError\n"), "tracebacks"),
    ((2, "", "error: one\nerror: two\n"), "multi-line errors"),
    ((2, "", "/x/y.py:3: UserWarning: raw\n  warnings.warn(x)\nerror: bad\n"), "multi-line errors"),
    ((0, "", ""), "unexpected exit codes"),
    ((None, "", ""), "timeouts"),
])
def test_each_kind_of_finding_is_counted(corpus, proc, problem):
    assert problem in judged(corpus, [proc])


def test_a_marker_and_writes_outside_are_found(corpus):
    def hostile(ctx: Ctx) -> None:
        ctx.marker.write_text("ran")
        (ctx.root / ctx.token).write_text("escaped")

    problems = judged(corpus, [(2, "", "error: refused\n")], before=hostile)
    assert "code executions" in problems and ctx_token_in(problems["writes outside"])


def ctx_token_in(text: str) -> bool:
    return "ESCAPED-c" in text
