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

A mutant is *killed* when a test fails, errors or times out, *survived* when every test
passes, *equivalent* when bench/mutation.toml lists it (neither). Each module's tests must
pass unmutated first (else the module is reported as broken and scores nothing).

Prints one line per module and the surviving mutants, then ONE JSON object on its last
line with:
  mutation_score_core   killed / (killed + survived), all modules together
  modules               per module: score, killed, survived, equivalent, mutants run
``--quick`` runs a seeded sample of a few mutants per module within a budget of 110 s
(``--budget S`` sets one for any run: what has not finished by then is reported as
unfinished, never scored);
``--module NAME`` limits the run; ``--jobs N`` forks N children at once (default 1: the
machine is shared); ``--list`` prints the mutants without running them.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib.abc
import importlib.util
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
        "pydantic", "httpx", "uvicorn", "starlette", "sqlite3", "ipaddress", "zlib", "hashlib")
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
    if not names:
        return {"<module>": (1, len(source.splitlines()))}
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


def enumerate_mutants(mod: Module, operators: list[str],
                      equivalents: dict[tuple[str, str, str], str]) -> None:
    source = (ROOT / mod.path).read_text()
    lines = source.splitlines()
    ranges = _function_ranges(source, mod.functions)
    annotations = _annotation_spans(source)
    tree = get_ast(source)
    nodes = list(ast_nodes(tree))
    for name in operators:
        operator = cosmic_ray.plugins.get_operator(name)()
        occurrence = 0
        for node in nodes:
            for start, _end in operator.mutation_positions(node):
                line = start[0]
                where = next((f for f, (a, b) in ranges.items() if a <= line <= b), None)
                if where is not None and not any(a <= start < b for a, b in annotations):
                    text = lines[line - 1].strip()
                    mod.mutants.append(Mutant(mod.name, name, occurrence, line, text, where,
                                              equivalents.get((mod.name, name, text))))
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


def _child(mod: Module, code: str | None) -> None:
    """In the forked child: run the module's tests against `code` (None: unmutated)."""
    import pytest

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.environ["HYPOTHESIS_PROFILE"] = "mutation"  # derandomized, no shrinking
    if code is not None:
        sys.meta_path.insert(0, _MutantFinder(mod.name, str(ROOT / mod.path), code))
    # --assert=plain: the assertion-rewriting import hook would otherwise load the hns
    # package (a pytest plugin, so rewritten) ahead of the mutant finder.
    status = pytest.main(["-x", "-q", "--assert=plain", "-p", "no:cacheprovider",
                          "--timeout", "120", *mod.tests])
    os._exit(int(status))


def _start(mod: Module, code: str | None) -> int:
    pid = os.fork()
    if pid == 0:
        try:
            _child(mod, code)
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


def run_baseline(mod: Module) -> None:
    t0 = time.monotonic()
    code = _wait(_start(mod, None), t0 + 600)
    mod.baseline = time.monotonic() - t0
    mod.broken = code != 0


def run_mutants(todo: list[tuple[Module, Mutant]], jobs: int, timeout: float | None,
                log: Any, stop_at: float | None = None) -> None:
    """Run the mutants, ``jobs`` at a time. Past ``stop_at`` (the --budget) nothing new
    starts and a child still running is stopped and counted as *unfinished*, neither
    killed nor survived, so a short run never inflates the score."""
    running: dict[int, tuple[Module, Mutant, float]] = {}
    queue = list(todo)
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
            limit = timeout or max(20.0, 4 * mod.baseline + 10)
            running[_start(mod, code)] = (mod, m, time.monotonic() + limit)
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
            if m.outcome == "survived":
                log(f"  SURVIVED {mod.path}:{m.line} [{m.function}] {m.operator} "
                    f"#{m.occurrence}: {m.text}")
        time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a seeded sample of mutants per module (within two minutes)")
    parser.add_argument("--sample", type=int, default=None,
                        help="mutants per module (default: all; --quick: 3)")
    parser.add_argument("--module", action="append", default=[], help="only this module")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=None, help="seconds per mutant")
    parser.add_argument("--seed", type=int, default=15)
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
    equivalents = {(e["module"], e["operator"], e["line"].strip()): e["reason"]
                   for e in config.get("equivalent", [])}
    modules = [Module(m["name"], m["path"], list(m["functions"]), list(m["tests"]))
               for m in config["module"] if not args.module or m["name"] in args.module]
    sample = args.sample if args.sample is not None else (3 if args.quick else None)
    rng = random.Random(args.seed)
    t0 = time.monotonic()
    todo: list[tuple[Module, Mutant]] = []
    for mod in modules:
        enumerate_mutants(mod, list(config["operators"]), equivalents)
        live = [m for m in mod.mutants if m.equivalent is None]
        for m in mod.mutants:
            if m.equivalent is not None:
                m.outcome = "equivalent"
        chosen = live if sample is None or sample >= len(live) else rng.sample(live, sample)
        todo += [(mod, m) for m in sorted(chosen, key=lambda m: (m.line, m.operator))]
        log(f"{mod.name}: {len(mod.mutants)} mutants ({len(mod.mutants) - len(live)} "
            f"equivalent), running {len(chosen)}")
    if args.list:
        for mod, m in todo:
            log(f"{mod.path}:{m.line} [{m.function}] {m.operator} #{m.occurrence}: {m.text}")
        return
    budget = args.budget if args.budget is not None else (110.0 if args.quick else None)
    stop_at = None if budget is None else t0 + budget
    baselined: set[str] = set()
    for mod in modules:
        if stop_at is not None and time.monotonic() >= stop_at:
            log(f"{mod.name}: not run (budget of {budget:.0f} s spent)")
            continue
        run_baseline(mod)
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
