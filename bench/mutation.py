"""Mutation score of the core modules: how many small bugs their targeted tests catch.

Configuration: bench/mutation.toml (modules, the functions mutated, each module's targeted
tests, the cosmic-ray operators, and the equivalent mutants with a one-line reason each).

Mutants are made with cosmic-ray's operators (PyPI: cosmic-ray; this script uses its
mutation machinery, not its session database or its workers: each mutant must run only its
own module's tests, and fast). For each mutant a child is forked from this process (pytest,
hypothesis and the heavy third-party imports are already loaded, the project is not); the
child puts an import hook first on sys.meta_path that serves the mutated source for the
module, then runs the module's targeted tests with ``pytest -x`` under the derandomized
hypothesis profile without shrinking (``mutation``, tests/conftest.py), output discarded,
within a timeout. Nothing is written to the source tree, so runs never disturb a working
copy.

Only the targeted tests that execute the mutated statement (any of its lines; of a
compound statement, its header) run against a mutant: the unmutated run traces which test
runs which line of the module (a test that never reaches the statement behaves exactly as
against the original). Statements that run at import (module and class bodies, default
values) run every targeted test; a statement no test runs is a survivor without running
anything. ``--no-select`` runs every targeted test for every mutant.

A mutant is *killed* when a test fails, errors or times out, *survived* when every test
passes, *equivalent* when bench/mutation.toml lists it (neither). Each module's tests must
pass unmutated first (else the module is reported as broken and scores nothing). A
function named in bench/mutation.toml that no longer exists, or an equivalent entry that
matches no mutant, stops the run (the code moved: update the configuration).

Prints one line per module and the surviving mutants, then ONE JSON object on its last
line with:
  mutation_score_core   killed / (killed + survived), all modules together
  modules               per module: score, killed, survived, equivalent, mutants run
``--quick`` runs a seeded sample of a few mutants per module within a budget of 110 s
(``--budget S`` sets one for any run: what has not finished by then is reported as
unfinished, never scored);
``--module NAME`` limits the run (``--line N`` further, to the mutants of one source line);
``--jobs N`` forks N children at once (default 1: the machine is shared); ``--list``
prints the mutants (and which are marked equivalent) without running them.

The tracked figure is the default invocation: every mutant of every module,
``python3 bench/mutation.py --jobs 2``.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib.abc
import importlib.util
import inspect
import json
import os
import random
import signal
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONFIG = Path(__file__).with_suffix(".toml")

# Loaded once here, so that each forked child starts warm. The project's own packages are
# never imported in this process: a child must import the mutated module afresh.
import parso  # noqa: E402,F401,I001  (first: cosmic_ray alone hits a parso import cycle)
import cosmic_ray.plugins  # noqa: E402
from cosmic_ray.ast import ast_nodes, get_ast  # noqa: E402
from cosmic_ray.mutating import mutate_code  # noqa: E402

WARM = ("pytest", "hypothesis", "hypothesis.strategies", "fastapi", "fastapi.testclient",
        "pydantic", "httpx", "uvicorn", "starlette", "sqlite3", "ipaddress", "zlib", "hashlib",
        # the byte oracle of the vxlan, vfp and compiler tests: about a second per child
        "scapy.packet", "scapy.utils", "scapy.layers.l2", "scapy.layers.inet",
        "scapy.layers.inet6", "scapy.layers.vxlan", "pytest_timeout")
PROJECT = ("api", "hns", "vfp", "vxlan")


@dataclass
class Mutant:
    module: str
    operator: str
    occurrence: int
    line: int
    text: str  # the original source line, stripped
    function: str
    equivalent: str | None = None
    nth: int = 0  # the operator's position on lines of this text (bench/mutation.toml's `nth`)
    span: tuple[int, int] = (0, 0)  # the lines of the statement (or compound header) it is in
    outcome: str = ""  # killed, survived, timeout, equivalent, skipped, unfinished


@dataclass
class Module:
    name: str
    path: str
    functions: list[str]
    tests: list[str]
    mutants: list[Mutant] = field(default_factory=list)
    baseline: float = 0.0
    broken: bool = False
    order: list[str] = field(default_factory=list)  # test ids as the unmutated run ran them
    covering: dict[int, set[str]] | None = None  # line -> ids of the tests that run it


def _function_ranges(source: str, names: list[str]) -> dict[str, tuple[int, int]]:
    """Line ranges of the named functions ("f" or "Class.f"); {} names the whole module."""
    tree = ast.parse(source)
    out: dict[str, tuple[int, int]] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                qual = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    out[qual] = (child.lineno, child.end_lineno or child.lineno)
                visit(child, f"{qual}.")

    visit(tree, "")
    if not names:  # the whole module, each function by name (innermost first when nested)
        whole = sorted(out.items(), key=lambda kv: kv[1][0] - kv[1][1])
        return {**dict(whole), "<module>": (1, len(source.splitlines()))}
    missing = [n for n in names if n not in out]
    if missing:
        raise SystemExit(f"bench/mutation.toml names functions that do not exist: {missing}")
    return {n: out[n] for n in names}


def _annotation_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Where the type annotations are: never evaluated (``from __future__ import
    annotations``), so a mutant inside one (``X | None`` -> ``X & None``) is equivalent."""
    spans = []
    for node in ast.walk(ast.parse(source)):
        found: list[ast.expr | None] = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            found = [node.returns, *(a.annotation for a in (
                *args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg)
                if a is not None)]
        elif isinstance(node, ast.AnnAssign):
            found = [node.annotation]
        spans += [((a.lineno, a.col_offset), (a.end_lineno or a.lineno, a.end_col_offset or 0))
                  for a in found if a is not None]
    return spans


Equivalents = dict[tuple[str, str, str], dict[int | None, str]]


def enumerate_mutants(mod: Module, operators: list[str], equivalents: Equivalents,
                      used: set[tuple[str, str, str, int | None]]) -> None:
    """The module's mutants; each marked equivalent when bench/mutation.toml lists its
    (module, operator, stripped line), with `nth` (the operator's 0-based position on that
    line) when only some of the line's mutants are equivalent. Entries that matched are
    added to `used`."""
    source = (ROOT / mod.path).read_text()
    lines = source.splitlines()
    ranges = _function_ranges(source, mod.functions)
    annotations = _annotation_spans(source)
    statements = _statement_spans(source)
    tree = get_ast(source)
    nodes = list(ast_nodes(tree))
    for name in operators:
        operator = cosmic_ray.plugins.get_operator(name)()
        occurrence = 0
        per_text: dict[str, int] = {}
        for node in nodes:
            for start, _end in operator.mutation_positions(node):
                line = start[0]
                stripped = lines[line - 1].strip()
                nth = per_text[stripped] = per_text.get(stripped, -1) + 1
                where = next((f for f, (a, b) in ranges.items() if a <= line <= b), None)
                if where is not None and not any(a <= start < b for a, b in annotations):
                    text = lines[line - 1].strip()
                    marks = equivalents.get((mod.name, name, text), {})
                    which = nth if nth in marks else None
                    reason = marks.get(which)
                    if reason is not None:
                        used.add((mod.name, name, text, which))
                    inside = [(a, b) for a, b in statements if a <= line <= b]
                    span = min(inside, key=lambda ab: ab[1] - ab[0], default=(line, line))
                    mod.mutants.append(Mutant(mod.name, name, occurrence, line, text, where,
                                              reason, nth, span))
                occurrence += 1


class _MutantFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves the mutated source for one module name."""

    def __init__(self, name: str, path: str, code: str) -> None:
        self.name, self.path, self.code = name, path, code

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != self.name:
            return None
        return importlib.util.spec_from_loader(fullname, self, origin=self.path)

    def create_module(self, spec: Any) -> None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        module.__file__ = self.path
        exec(compile(self.code, self.path, "exec"), module.__dict__)


class _LineTracer:
    """In the unmutated run: which tests execute which lines of the module (a pytest
    plugin plus a sys.settrace/threading.settrace hook that follows only frames of the
    module's file). Lines run outside any test (at import, during collection) belong to
    every test, as do the lines of module and class bodies (run once, at import)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.current = ""
        self.order: list[str] = []
        self.lines: dict[int, set[str]] = {}

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        self.current = nodeid
        self.order.append(nodeid)

    def pytest_runtest_logfinish(self, nodeid: str, location: Any) -> None:
        self.current = ""

    def trace(self, frame: Any, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename != self.path:
            return None
        self._note(frame)
        return self._local

    def _local(self, frame: Any, event: str, arg: Any) -> Any:
        if event == "line":
            self._note(frame)
        return self._local

    def _note(self, frame: Any) -> None:
        body = not frame.f_code.co_flags & inspect.CO_OPTIMIZED  # a module or class body
        self.lines.setdefault(frame.f_lineno, set()).add("" if body else self.current)


def _child(mod: Module, code: str | None, tests: list[str], report: str | None) -> None:
    """In the forked child: run `tests` against `code` (None: unmutated; then, with
    `report`, trace which tests run which lines and write that there as JSON)."""
    import threading

    import pytest

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.environ["HYPOTHESIS_PROFILE"] = "mutation"  # derandomized, no shrinking
    plugins: list[Any] = []
    if code is not None:
        sys.meta_path.insert(0, _MutantFinder(mod.name, str(ROOT / mod.path), code))
    elif report is not None:
        tracer = _LineTracer(str(ROOT / mod.path))
        plugins.append(tracer)
        threading.settrace(tracer.trace)
        sys.settrace(tracer.trace)
        # Imported here, outside any test, so that every line the import runs (module and
        # class bodies, default values, functions called at import) belongs to every test.
        importlib.import_module(mod.name)
    # --assert=plain: the assertion-rewriting import hook would otherwise load the hns
    # package (a pytest plugin, so rewritten) ahead of the mutant finder.
    status = pytest.main(["-x", "-q", "--assert=plain", "-p", "no:cacheprovider",
                          "-p", "no:xdist", "--timeout", "120", *tests], plugins=plugins)
    if code is None and report is not None:
        sys.settrace(None)
        Path(report).write_text(json.dumps({
            "order": tracer.order,
            "lines": {str(k): sorted(v) for k, v in tracer.lines.items()}}))
    os._exit(int(status))


def _start(mod: Module, code: str | None, tests: list[str] | None = None,
           report: str | None = None) -> int:
    pid = os.fork()
    if pid == 0:
        try:
            _child(mod, code, mod.tests if tests is None else tests, report)
        finally:
            os._exit(70)
    return pid


def _wait(pid: int, deadline: float) -> int | None:
    """Exit status of the child, or None after killing it at the deadline."""
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() >= deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None
        time.sleep(0.02)


def run_baseline(mod: Module, select: bool) -> None:
    """The module's tests, unmutated; with `select`, also which tests run which lines."""
    t0 = time.monotonic()
    report = f"/tmp/mutation-lines-{os.getpid()}-{mod.name}.json" if select else None
    try:
        code = _wait(_start(mod, None, report=report), t0 + 900)
        mod.baseline = time.monotonic() - t0
        mod.broken = code != 0
        if report is not None and not mod.broken:
            got = json.loads(Path(report).read_text())
            mod.order = got["order"]
            mod.covering = {int(k): set(v) for k, v in got["lines"].items()}
    finally:
        if report is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(report)


def _statement_spans(source: str) -> list[tuple[int, int]]:
    """Line spans of the statements, innermost last; for a compound statement only its
    header (``if (`` ... ``):`` of a condition over several lines, up to its body)."""
    spans = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.stmt):
            end = node.end_lineno or node.lineno
            body = getattr(node, "body", None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                end = max(node.lineno, body[0].lineno - 1)
            spans.append((node.lineno, end))
    return spans


def tests_for(mod: Module, m: Mutant) -> list[str] | None:
    """The tests that run the mutated statement (any line of it: a condition written
    over several lines has no code on its ``if (`` line), in their usual order; None:
    all of the module's tests (no selection, or it also runs outside any test, at
    import)."""
    if mod.covering is None:
        return None
    ids: set[str] = set()
    for line in range(m.span[0], m.span[1] + 1):
        ids |= mod.covering.get(line, set())
    if "" in ids:
        return None
    return [t for t in mod.order if t in ids]


def run_mutants(todo: list[tuple[Module, Mutant]], jobs: int, timeout: float | None,
                log: Any, stop_at: float | None = None) -> None:
    """Run the mutants, ``jobs`` at a time. Past ``stop_at`` (the --budget) nothing new
    starts and a child still running is stopped and counted as *unfinished*, neither
    killed nor survived, so a short run never inflates the score."""
    running: dict[int, tuple[Module, Mutant, float]] = {}
    queue = list(todo)
    finished = 0
    started = time.monotonic()
    while queue or running:
        if stop_at is not None and time.monotonic() >= stop_at:
            for pid, (_mod, m, _deadline) in running.items():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                m.outcome = "unfinished"
            for _mod, m in queue:
                m.outcome = "unfinished"
            return
        while queue and len(running) < jobs:
            mod, m = queue.pop(0)
            source = (ROOT / mod.path).read_text()
            operator = cosmic_ray.plugins.get_operator(m.operator)()
            code = mutate_code(source, operator, m.occurrence)
            if code is None:
                m.outcome = "skipped"
                continue
            tests = tests_for(mod, m)
            if tests == []:  # no test runs this line: nothing can kill the mutant
                m.outcome = "survived"
                log(f"  SURVIVED {mod.path}:{m.line} [{m.function}] {m.operator} "
                    f"#{m.occurrence} nth={m.nth} (no test runs the statement): {m.text}")
                continue
            limit = timeout or max(20.0, 4 * mod.baseline + 10)
            running[_start(mod, code, tests)] = (mod, m, time.monotonic() + limit)
        for pid, (mod, m, deadline) in list(running.items()):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                code = os.waitstatus_to_exitcode(status)
                m.outcome = "survived" if code == 0 else "killed"
            elif time.monotonic() >= deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                m.outcome = "timeout"
            else:
                continue
            del running[pid]
            finished += 1
            if finished % 50 == 0:
                log(f"  ... {finished} of {len(todo)} mutants run, "
                    f"{time.monotonic() - started:.0f} s")
            if m.outcome == "survived":
                log(f"  SURVIVED {mod.path}:{m.line} [{m.function}] {m.operator} "
                    f"#{m.occurrence} nth={m.nth}: {m.text}")
        time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a seeded sample of mutants per module (within two minutes)")
    parser.add_argument("--sample", type=int, default=None,
                        help="mutants per module (default: all; --quick: 3)")
    parser.add_argument("--module", action="append", default=[], help="only this module")
    parser.add_argument("--line", type=int, action="append", default=[],
                        help="only the mutants of this source line (with --module)")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=None, help="seconds per mutant")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--no-select", action="store_true",
                        help="run all of a module's targeted tests for every mutant, not only "
                             "those that run the mutated line")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument("--budget", type=float, default=None,
                        help="seconds for the whole run (default with --quick: 110); mutants "
                             "not finished by then are reported as unfinished, not scored")
    args = parser.parse_args()
    if any(name in sys.modules for name in PROJECT):
        raise SystemExit("the project must not be imported before the children fork")
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    for name in WARM:
        with contextlib.suppress(ImportError):
            __import__(name)

    def log(msg: str) -> None:
        print(msg, flush=True)

    config = tomllib.loads(CONFIG.read_text())
    equivalents: Equivalents = {}
    for e in config.get("equivalent", []):
        marks = equivalents.setdefault((e["module"], e["operator"], e["line"].strip()), {})
        marks[e.get("nth")] = e["reason"]
    modules = [Module(m["name"], m["path"], list(m["functions"]), list(m["tests"]))
               for m in config["module"] if not args.module or m["name"] in args.module]
    sample = args.sample if args.sample is not None else (3 if args.quick else None)
    rng = random.Random(args.seed)
    t0 = time.monotonic()
    todo: list[tuple[Module, Mutant]] = []
    used: set[tuple[str, str, str, int | None]] = set()
    for mod in modules:
        enumerate_mutants(mod, list(config["operators"]), equivalents, used)
        live = [m for m in mod.mutants if m.equivalent is None
                and (not args.line or m.line in args.line)]
        for m in mod.mutants:
            if m.equivalent is not None:
                m.outcome = "equivalent"
        chosen = live if sample is None or sample >= len(live) else rng.sample(live, sample)
        todo += [(mod, m) for m in sorted(chosen, key=lambda m: (m.line, m.operator))]
        marked = sum(m.equivalent is not None for m in mod.mutants)
        log(f"{mod.name}: {len(mod.mutants)} mutants ({marked} equivalent), running "
            f"{len(chosen)}")
    # An equivalent entry that matches no mutant is stale (its line was edited or moved
    # out of the mutated functions): fail loudly rather than silently score differently.
    names = {mod.name for mod in modules}
    stale = [f"{m} {op} nth={nth}: {text}" for (m, op, text), marks in equivalents.items()
             for nth in marks if m in names and (m, op, text, nth) not in used]
    if stale:
        raise SystemExit("bench/mutation.toml lists equivalent mutants that no longer exist "
                         "(update or remove them):\n  " + "\n  ".join(stale))
    if args.list:
        for mod in modules:
            for m in sorted(mod.mutants, key=lambda m: (m.line, m.operator, m.nth)):
                mark = " (equivalent)" if m.equivalent else ""
                log(f"{mod.path}:{m.line} [{m.function}] {m.operator} #{m.occurrence} "
                    f"nth={m.nth}{mark}: {m.text}")
        return
    budget = args.budget if args.budget is not None else (110.0 if args.quick else None)
    stop_at = None if budget is None else t0 + budget
    baselined: set[str] = set()
    for mod in modules:
        if stop_at is not None and time.monotonic() >= stop_at:
            log(f"{mod.name}: not run (budget of {budget:.0f} s spent)")
            continue
        # Tracing costs one slower unmutated run per module: not worth it for --quick's
        # few mutants.
        run_baseline(mod, not args.no_select and not args.quick)
        baselined.add(mod.name)
        log(f"{mod.name}: targeted tests {'FAIL unmutated' if mod.broken else 'pass'} "
            f"in {mod.baseline:.1f} s")
    run_mutants([(mod, m) for mod, m in todo if mod.name in baselined and not mod.broken],
                args.jobs, args.timeout, log, stop_at)
    per: dict[str, dict[str, Any]] = {}
    total_killed = total_survived = 0
    for mod in modules:
        ran = [m for m in mod.mutants if m.outcome in ("killed", "timeout", "survived")]
        killed = sum(m.outcome in ("killed", "timeout") for m in ran)
        survived = sum(m.outcome == "survived" for m in ran)
        if mod.broken:
            survived = max(survived, 1)  # a module whose tests fail unmutated scores 0
        total_killed += killed
        total_survived += survived
        score = killed / (killed + survived) if killed + survived else None
        per[mod.name] = {
            "score": None if score is None else round(score, 3), "killed": killed,
            "survived": survived, "timeout": sum(m.outcome == "timeout" for m in ran),
            "equivalent": sum(m.outcome == "equivalent" for m in mod.mutants),
            "run": len(ran), "mutants": len(mod.mutants), "broken": mod.broken,
            "unfinished": sum(m.outcome == "unfinished" for m in mod.mutants),
        }
        log(f"[{mod.name}] score {per[mod.name]['score']}: killed {killed}, survived "
            f"{survived}, equivalent {per[mod.name]['equivalent']}, run {len(ran)} of "
            f"{len(mod.mutants)}")
    overall = total_killed / (total_killed + total_survived) \
        if total_killed + total_survived else 0.0
    log(f"[mutation_score_core] {overall:.3f} ({total_killed} killed, {total_survived} "
        f"survived) in {time.monotonic() - t0:.0f} s")
    print(json.dumps({"mutation_score_core": round(overall, 3), "killed": total_killed,
                      "survived": total_survived, "modules": per, "quick": args.quick,
                      "budget_s": budget, "seconds": round(time.monotonic() - t0, 1)}))


if __name__ == "__main__":
    main()
