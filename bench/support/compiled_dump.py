"""The compiled VFP state of a state file, as vfpctrl prints it: for checking that a change
to the compiler's speed leaves what it programs exactly as it was.

::

    python bench/support/compiled_dump.py STATE OUT [--restart]

Compiles STATE (a state file, e.g. from restart_probe.py ``build --remote 300 --lbs 300``)
on a fresh host, optionally restarts the emulated HNS service (rehydrate and full resync),
and writes to OUT, port by port (sorted by id): ``/list-vmswitch-port``, then per port
``/list-layer``, ``/list-rule`` and ``/list-mapping`` in vfpctrl's JSON (``/format 1``),
the port's NAT pools and its generation-independent flags. Run it with the tree before
and after a change (``git archive BASE | tar -x -C DIR`` gives the tree before) and
compare the two files: they must be equal byte for byte.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def dump(state: str, restart: bool) -> dict[str, Any]:
    from hns.hosts import Host
    from hns.service import HnsService
    from vfp import ctl

    service = HnsService(state=state)
    host = Host(service=service)
    if restart:
        service.restart_service()
    switch = host.switch
    out: dict[str, Any] = {"ports": json.loads(ctl.run(switch, "/list-vmswitch-port "
                                                       "/format 1")[1])}
    for port_id in sorted(switch.ports):
        port = switch.ports[port_id]
        entry: dict[str, Any] = {}
        for verb in ("list-layer", "list-rule", "list-mapping"):
            code, text = ctl.run(switch, ["/port", port_id, f"/{verb}", "/format", "1"])
            entry[verb] = json.loads(text) if code == 0 else text
        entry["nat_pools"] = {pid: [repr(r) for r in pool.ranges]
                              for pid, pool in sorted(port.nat_pools.items())}
        out[port_id] = entry
    host.close()
    service.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("state")
    parser.add_argument("out", type=Path)
    parser.add_argument("--restart", action="store_true")
    ns = parser.parse_args(argv)
    ns.out.write_text(json.dumps(dump(ns.state, ns.restart), indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
