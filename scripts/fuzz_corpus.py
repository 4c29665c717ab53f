"""Run the `fpbench` command on a corpus of hostile or broken inputs and count what must never happen.

    python scripts/fuzz_corpus.py --ready-cache /path/to/a/set-up/cache [--jobs 2] [--only PATTERN] [--keep]

Each case (``fuzz_cases.CASES``: hostile pickles, manifests, paths, corrupt caches, bad CLI values, OS
errors, concurrent runs) gets its own folder under a temporary directory with its own ``FPBENCH_CACHE`` (empty,
a hard-linked copy of ``--ready-cache`` for cases that need the embedded models, or a copy of a small run made
once with the test suite's toy plugin), its own HOME, TMPDIR and working directory, and offline package
clients. The real CLI (``python -m fpbench.cli.main``, from this checkout) runs in a subprocess; for each case
the harness records the exit code, whether stderr holds a traceback, whether a failure is one ``error:`` line,
whether a file was written outside the case's folder (an ``ESCAPED`` name anywhere outside it, a new file
beside the case folders, a changed file of the ready cache or of the toy template) and whether a hostile file's
code ran (its marker file appeared). Nothing in the corpus is harmful: a "hostile" pickle or YAML tag only
creates the case's marker file.

Prints a table per category and one per finding, then ``N cases: T tracebacks, E code executions, W writes
outside, I internal errors, M multi-line errors, X unexpected exit codes, H timeouts, S set-up failures``; exits 1
if any is > 0.
Cases without models run without ``--ready-cache`` (the others are then listed as skipped).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [str(HERE), str(REPO / "tests")]

from fuzz_cases import TEMPLATE_ARGV, Case, Ctx, build  # noqa: E402
from fuzz_table import CASES  # noqa: E402
from plugins.site import install_example_plugin  # noqa: E402

TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^Exception ignored in|^\s+File \".*\", line \d+", re.M)
#: a warning printed by the warnings module itself (path:line: Category: message), not fpbench's one line
RAW_WARNING = re.compile(r"^\S+:\d+: \w*Warning: ", re.M)
NEEDS_MODELS = "needs --ready-cache"
COUNTS = ("tracebacks", "code executions", "writes outside", "internal errors", "multi-line errors",
          "unexpected exit codes", "timeouts")


@dataclass
class Outcome:
    case: Case
    code: int | None = None
    seconds: float = 0.0
    stderr: str = ""
    stdout: str = ""
    problems: dict[str, str] = field(default_factory=dict)  # one of COUNTS -> what was seen
    skipped: str = ""

    @property
    def first_line(self) -> str:
        lines = [line for line in self.stderr.splitlines() if line.strip() and not line.startswith("warning:")]
        return (lines or [""])[0][:160]


class Corpus:
    """The temporary folder of one corpus run: templates, one folder per case, and the checks around each."""

    def __init__(self, root: Path, ready: Path | None, python: str, timeout: float, verbose: bool = False) -> None:
        self.root, self.ready, self.python, self.timeout, self.verbose = root, ready, python, timeout, verbose
        (root / "cases").mkdir(parents=True)
        self.plugin_path = install_example_plugin(root / "plugin-site")
        self.toy = root / "templates" / "toy"
        self.baseline = self._outside_files()
        self.protected = self._protected_state()

    # -- environment and templates ------------------------------------------------------------------------
    def env(self, ctx: Ctx, extra: dict[str, str]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FPBENCH_", "PIP_", "npm_config_"))}
        for sub in ("home", "tmp", "nolinks"):
            (ctx.dir / sub).mkdir(exist_ok=True)
        env.update({
            "PYTHONPATH": os.pathsep.join([str(REPO), self.plugin_path]), "FPBENCH_CACHE": str(ctx.cache),
            "HOME": str(ctx.dir / "home"), "TMPDIR": str(ctx.dir / "tmp"), "TORCH_HOME": str(ctx.dir / "torch"),
            "XDG_CACHE_HOME": str(ctx.dir / "home" / ".cache"), "MPLCONFIGDIR": str(ctx.dir / "home" / "mpl"),
            "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(ctx.dir / "nolinks"), "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "npm_config_offline": "true", "npm_config_cache": str(ctx.dir / "home" / ".npm"),
            "OMP_NUM_THREADS": "1", "FPBENCH_THREADS": "1", "COLUMNS": "200", "PYTHONWARNINGS": "default",
        })
        env.update({k: ctx.fill(v) for k, v in extra.items()})
        return env

    def make_toy_template(self) -> None:
        """One small finished run (toy plugin, fgsm) whose cache and run folder toy cases start from."""
        if (self.toy / "runs").is_dir():
            return
        ctx = Ctx(self.toy, self.root)
        ctx.work.mkdir(parents=True)
        proc = subprocess.run([self.python, "-m", "fpbench.cli.main", *TEMPLATE_ARGV], cwd=ctx.work,
                              env=self.env(ctx, {}), capture_output=True, text=True, timeout=self.timeout)
        if proc.returncode != 0:
            raise SystemExit(f"the toy template run failed: {proc.stderr.strip()[-2000:]}")
        shutil.move(str(ctx.work / "runs"), self.toy / "runs")
        self.protected = self._protected_state()

    def prepare(self, case: Case) -> Ctx:
        ctx = Ctx(self.root / "cases" / case.name, self.root)
        ctx.work.mkdir(parents=True)
        if case.cache == "ready":
            shutil.copytree(self.ready, ctx.cache, copy_function=os.link, symlinks=True)
        elif case.cache == "toy":
            shutil.copytree(self.toy / "cache", ctx.cache, symlinks=True)
            shutil.copytree(self.toy / "runs", ctx.work / "runs", symlinks=True)
        else:
            ctx.cache.mkdir()
        return ctx

    # -- one case -------------------------------------------------------------------------------------------
    def run(self, case: Case) -> Outcome:
        outcome = Outcome(case)
        if case.cache == "ready" and self.ready is None:
            outcome.skipped = NEEDS_MODELS
            return outcome
        ctx = self.prepare(case)
        env = self.env(ctx, dict(case.env))
        if case.prime:
            self._call(case, ctx, env)
        try:
            build(ctx, case.setup)
        except Exception as e:  # a case that cannot be built is reported, the corpus goes on
            outcome.skipped = f"set-up failed: {type(e).__name__}: {e}"
            print(f"{case.category}/{case.name}: {outcome.skipped}", flush=True)
            return outcome
        start = time.monotonic()
        procs = [self._call(case, ctx, env) for _ in range(case.parallel)] if case.parallel == 1 else \
            list(ThreadPoolExecutor(case.parallel).map(lambda _: self._call(case, ctx, env), range(case.parallel)))
        outcome.seconds = time.monotonic() - start
        self._judge(outcome, ctx, procs)
        (ctx.dir / "stderr.txt").write_text(outcome.stderr)
        (ctx.dir / "stdout.txt").write_text(outcome.stdout)
        if self.verbose:
            status = "; ".join(f"{k}: {v}" for k, v in outcome.problems.items()) or "ok"
            print(f"{case.category}/{case.name}: exit {outcome.code}, {outcome.seconds:.0f} s, {status}", flush=True)
        return outcome

    def _call(self, case: Case, ctx: Ctx, env: dict[str, str]) -> tuple[int | None, str, str]:
        argv = [self.python, "-m", "fpbench.cli.main", *ctx.argv(case.argv)]
        stdout = open(os.devnull if case.stdout == "pipe" else case.stdout, "wb") if case.stdout != "pipe" else \
            subprocess.PIPE
        proc = subprocess.Popen(argv, cwd=ctx.work, env=env, stdout=stdout, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, start_new_session=True,
                                preexec_fn=_limits(case.file_limit))
        try:
            if case.interrupt_after:
                try:
                    out, err = proc.communicate(timeout=case.interrupt_after)
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGINT)
                    out, err = proc.communicate(timeout=self.timeout)
            else:
                out, err = proc.communicate(timeout=case.timeout or self.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            return None, _text(out), _text(err)
        finally:
            if stdout is not subprocess.PIPE:
                stdout.close()
        return proc.returncode, _text(out), _text(err)

    def _judge(self, outcome: Outcome, ctx: Ctx, procs: list[tuple[int | None, str, str]]) -> None:
        case, problems = outcome.case, outcome.problems
        outcome.code = next((c for c, _, _ in procs if c != 0), procs[0][0])
        outcome.stderr = "\n".join(err for _, _, err in procs)
        outcome.stdout = "\n".join(out for _, out, _ in procs)
        for code, out, err in procs:
            if code is None:
                problems["timeouts"] = f"no exit after {case.timeout or self.timeout:.0f} s"
                continue
            if TRACEBACK.search(err) or TRACEBACK.search(out):
                problems["tracebacks"] = _last_line(err or out)
            if code == 3:
                problems["internal errors"] = _first_error(err)
            elif code not in case.expect:
                problems["unexpected exit codes"] = f"exit {code}, expected {'/'.join(map(str, case.expect))}"
            # a failure is one "error:" line; exit 1 with nothing on stderr is a partial result reported on
            # stdout (e.g. faces skipped with their reasons)
            others = [line for line in err.splitlines() if line.strip() and not line.startswith("warning:")]
            one_error = len(others) == 1 and (others[0].startswith("error:") or code == 130)  # 130: interrupted
            if RAW_WARNING.search(err) or (code != 0 and not one_error and (others or code != 1)):
                problems.setdefault("multi-line errors", f"{len(others)} non-warning stderr lines")
        if ctx.marker.exists():
            problems["code executions"] = f"marker {ctx.marker.name} was written"
        escaped = self._escapes(ctx)
        if escaped:
            problems["writes outside"] = escaped
        for rel in case.absent:
            if (ctx.dir / ctx.fill(rel)).exists():
                problems.setdefault("writes outside", f"{rel} exists (read from outside the root)")
        for path in (p for p in ctx.work.rglob("*") if p.is_file() and p.stat().st_size < 50_000_000):
            if any(text.encode() in path.read_bytes() for text in case.leaks):
                problems.setdefault("writes outside", f"{path.name} holds the bytes of a file outside")

    # -- writes outside -------------------------------------------------------------------------------------
    def _escapes(self, ctx: Ctx) -> str:
        found = [p for p in self._outside_files() if p not in self.baseline]
        found += list(Path(tempfile.gettempdir()).glob(f"*{ctx.token}*"))
        found += [p for p in (self.root / "cases").glob("*/*ESCAPED*") if p.parent != ctx.dir]
        default_cache = ctx.dir / "home" / ".cache" / "fpbench"
        if default_cache.exists():
            found.append(default_cache)
        state = self._protected_state()
        changed = [p for p, s in self.protected.items() if state.get(p) != s]
        self.baseline |= set(found)
        if changed:
            self.protected = state
            found.append(Path(f"{len(changed)} shared cache files changed, e.g. {changed[0]}"))
        return ", ".join(str(p) for p in found[:3])

    def _outside_files(self) -> set[Path]:
        """Everything in the corpus folder outside the case folders, the templates and the plugin."""
        keep = {"cases", "templates", "plugin-site"}
        found: set[Path] = set()
        for folder, dirs, files in os.walk(self.root):
            if Path(folder) == self.root:
                dirs[:] = [d for d in dirs if d not in keep]
            found.update(Path(folder) / name for name in dirs + files)
        return found

    def _protected_state(self) -> dict[Path, tuple[int, int, int]]:
        """(inode, size, mtime) of every file cases share: the ready cache (hard-linked) and the toy template."""
        roots = [r for r in (self.ready, self.toy) if r is not None and r.is_dir()]
        return {p: (s.st_ino, s.st_size, s.st_mtime_ns) for r in roots for p in r.rglob("*")
                if p.is_file() and not p.is_symlink() for s in [p.stat()]}


def _limits(file_limit: int | None):
    if file_limit is None:
        return None

    def apply() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (file_limit, file_limit))  # writes past it fail: EFBIG

    return apply


def _text(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", "replace")


def _first_error(err: str) -> str:
    return next((line for line in err.splitlines() if line.startswith("error:")), _last_line(err))[:200]


def _last_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[-1][:200]


def report(console: Console, outcomes: list[Outcome], seconds: float) -> int:
    """Print the tables and the summary line; the number of findings."""
    ran = [o for o in outcomes if not o.skipped]
    failed_setup = [o for o in outcomes if o.skipped and o.skipped != NEEDS_MODELS]
    per = Table(title="fuzz corpus by category")
    for col in ("category", "cases", "clean", "findings", "skipped", "seconds"):
        per.add_column(col, justify="left" if col == "category" else "right")
    for cat in dict.fromkeys(o.case.category for o in outcomes):
        group = [o for o in outcomes if o.case.category == cat]
        bad = [o for o in group if o.problems]
        per.add_row(cat, str(len(group)), str(len(group) - len(bad) - sum(1 for o in group if o.skipped)),
                    str(len(bad)), str(sum(1 for o in group if o.skipped)), f"{sum(o.seconds for o in group):.0f}")
    console.print(per)
    findings = [o for o in ran if o.problems] + failed_setup
    if findings:
        table = Table(title="findings")
        for col in ("case", "exit", "problem", "stderr"):
            table.add_column(col, overflow="fold")
        for o in findings:
            what = "; ".join(f"{k}: {v}" for k, v in o.problems.items()) or o.skipped
            table.add_row(o.case.name, str(o.code), escape(what), escape(o.first_line))
        console.print(table)
    skipped = [o for o in outcomes if o.skipped == NEEDS_MODELS]
    counts = {name: sum(1 for o in ran if name in o.problems) for name in COUNTS}
    counts["set-up failures"] = sum(1 for o in outcomes if o.skipped and o.skipped != NEEDS_MODELS)
    tail = f" ({len(skipped)} skipped: {NEEDS_MODELS})" if skipped else ""
    console.print(f"took {seconds:.0f} s; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
                  highlight=False)
    console.print(f"{len(ran)} cases: " + ", ".join(f"{n} {name}" for name, n in counts.items()) + tail,
                  highlight=False)
    return sum(counts.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ready-cache", type=Path, help="a set-up FPBENCH_CACHE (embedded models, mini); "
                                                         "never written: cases get hard-linked copies")
    parser.add_argument("--jobs", type=int, default=1, help="cases run at once (default 1)")
    parser.add_argument("--only", default="", help="run only cases whose name or category matches this regex")
    parser.add_argument("--fast", action="store_true", help="only the fast subset (no models; what CI runs)")
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds a case may take (default 240)")
    parser.add_argument("--python", default=sys.executable, help="interpreter that runs fpbench")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (printed)")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--verbose", action="store_true", help="one line per case as it finishes")
    args = parser.parse_args(argv)
    cases = [c for c in CASES if (not args.fast or c.fast) and re.search(args.only, f"{c.category}/{c.name}")]
    console = Console(width=200)
    if args.list:
        for c in cases:
            console.print(f"{c.category:<12} {c.name:<40} {' '.join(c.argv)}", highlight=False, markup=False)
        return 0
    root = Path(tempfile.mkdtemp(prefix="fpbench-fuzz-"))
    start = time.monotonic()
    try:
        corpus = Corpus(root, args.ready_cache.resolve() if args.ready_cache else None, args.python, args.timeout,
                        args.verbose)
        if any(c.cache == "toy" for c in cases):
            corpus.make_toy_template()
        with ThreadPoolExecutor(max(1, args.jobs)) as pool:
            outcomes = list(pool.map(corpus.run, cases))
        found = report(console, outcomes, time.monotonic() - start)
    finally:
        if args.keep:
            console.print(f"kept {root}", highlight=False)
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
