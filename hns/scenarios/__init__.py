"""End-to-end scenarios: real callers' HNS calls on emulated hosts, then packets through
the VFP pipelines those calls compiled into, with every trace printed and a verdict.

Each scenario module (one per scenario) has ``NAME``, ``SUMMARY`` and
``play(run, *, pcap, before_traffic)``; its data (the HNS calls, in the caller's own JSON
shape) lives in ``fixtures/scenarios/<name>/``.  `run` prints the calls, the trace of every
packet the scenario sends, and ends with exactly one verdict line:

    PASS <name>
    FAIL <name>: <reason>
    SKIP <name>: <reason>      (only mixed-linux-windows, without root / netns)

`run` returns False for FAIL and True for PASS and SKIP (a skipped scenario did not fail;
the verdict line says it did not run).  docs/scenarios.md describes each scenario and the
caller behaviour it copies.

Modules: `base` (fixture loading, the calls runner, packet helpers, checks),
`docker_swarm`, `kube_proxy_flannel`, `calico_acls`, `mixed_linux_windows`, `netns` (the
network-namespace helper of the mixed scenario).
"""

from __future__ import annotations

import textwrap
import traceback
from collections.abc import Callable
from types import ModuleType
from typing import TextIO

from hns.scenarios import calico_acls, docker_swarm, kube_proxy_flannel, mixed_linux_windows
from hns.scenarios.base import Failed, Run, Skipped, load_fixture

__all__ = ["Run", "names", "run", "summary"]

_MODULES: dict[str, ModuleType] = {
    m.NAME: m for m in (docker_swarm, kube_proxy_flannel, calico_acls, mixed_linux_windows)
}


def names() -> list[str]:
    """The scenario names, seed first."""
    return list(_MODULES)


def summary(name: str) -> str:
    """One line saying what a scenario shows (for ``scenario --list``)."""
    return str(_MODULES[name].SUMMARY)


def run(name: str, out: TextIO, *, pcap: str | None = None,
        before_traffic: Callable[[Run], None] | None = None) -> bool:
    """Run one scenario, writing its calls, traces and verdict line to `out`; True unless
    it failed.  `pcap` names a file that gets every underlay frame.  `before_traffic`
    (for tests) is called with the Run after the HNS calls and before any packet, e.g.
    to break the setup and see the scenario fail."""
    module = _MODULES.get(name)
    if module is None:
        out.write(f"FAIL {name}: no such scenario (known: {', '.join(names())})\n")
        return False
    out.write(f"# scenario {name}: {module.SUMMARY}\n")
    r: Run | None = None
    verdict, passed = f"PASS {name}", True
    try:
        r = Run(name, out, load_fixture(name))
        for line in textwrap.wrap(str(r.data.get("description", "")), 96):
            out.write(f"# {line}\n")
        module.play(r, pcap=pcap, before_traffic=before_traffic)
        r.summary()
        r.verdict()
    except Skipped as exc:
        verdict = f"SKIP {name}: {exc}"
    except Failed as exc:
        verdict, passed = f"FAIL {name}: {exc}", False
    except Exception as exc:  # a bug below us: report it as the scenario's failure
        out.write(traceback.format_exc())
        verdict, passed = f"FAIL {name}: unexpected {type(exc).__name__}: {exc}", False
    finally:
        if r is not None:
            r.close()  # before the verdict, so the verdict stays the last line
    out.write(f"\n{verdict}\n")
    return passed
